/* SPDX-License-Identifier: MIT */
/**
 * @file executor/signal.h
 * @brief The runtime's shutdown token, fired by SIGINT / SIGTERM (seed 003, "Shutdown Behaviors").
 *
 * Loops without a natural end (accept loops, WAL receivers) hold a child of the shutdown token and
 * finish cleanly once it is cancelled. With config.handle_signals, SIGINT and SIGTERM are blocked
 * in every runtime thread and read from a signalfd by an internal task ("ex:signals") through
 * io_uring; the first one cancels the shutdown token with EX_CANCEL_SHUTDOWN; a second SIGINT
 * prints a message to stderr and _exit(130)s at once (the user insists). A signal is read by one
 * signalfd only: enable handle_signals on one runtime per process.
 */
#ifndef EXECUTOR_SIGNAL_H
#define EXECUTOR_SIGNAL_H

#include <executor/cancel.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ex_runtime;

/**
 * The root token of @p rt's cancellation tree (exists also without handle_signals).
 * @return a borrowed pointer, valid until ex_runtime_free(); take ex_cancel_token_ref() to keep it
 * longer, or ex_cancel_token_child() to give a subtree to a task. Thread-safe.
 * Cancel-safety: n/a (await ex_cancelled() on it: cancel-safe). Design: seed 003
 * executor::signals::new_shutdown_token().
 */
EX_PUBLIC struct ex_cancel_token *ex_runtime_shutdown_token(struct ex_runtime *rt);

/**
 * Cancel the shutdown token of @p rt with EX_CANCEL_SHUTDOWN as a signal would (e.g. the daemon
 * stopping on request). @return true if this call cancelled it, false if it already was.
 * Thread-safe. Cancel-safety: n/a. Design: seed 003 "Shutdown Behaviors".
 */
EX_PUBLIC bool ex_runtime_shutdown(struct ex_runtime *rt);

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_SIGNAL_H */
