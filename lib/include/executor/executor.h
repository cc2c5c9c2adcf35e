/* SPDX-License-Identifier: MIT */
/**
 * @file executor/executor.h
 * @brief Umbrella header: every public header of libexecutor, so that a program that includes
 * only this one can call every public function and macro (tests/executor/test_umbrella.c checks
 * it with -Werror=implicit-function-declaration).
 *
 * All of them are always installed; a new public header is added here and to that test.
 */
#ifndef EXECUTOR_EXECUTOR_H
#define EXECUTOR_EXECUTOR_H

/* The portable model */
#include <executor/future.h>
#include <executor/async.h>
#include <executor/park.h>
/* The Linux runtime: tasks, I/O and timers through io_uring, blocking work, signals */
#include <executor/runtime.h>
#include <executor/task.h>
#include <executor/blocking.h>
#include <executor/io.h>
#include <executor/time.h>
#include <executor/signal.h>
/* Cancellation, select/timeout over cancel-safe futures, synchronisation */
#include <executor/cancel.h>
#include <executor/select.h>
#include <executor/seqwait.h>
#include <executor/channel.h>
#include <executor/oneshot.h>
#include <executor/mutex.h>
#include <executor/semaphore.h>
#include <executor/bundle.h>

#endif /* EXECUTOR_EXECUTOR_H */
