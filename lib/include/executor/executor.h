/* SPDX-License-Identifier: MIT */
/**
 * @file executor/executor.h
 * @brief Umbrella header: everything a program on libexecutor uses.
 */
#ifndef EXECUTOR_EXECUTOR_H
#define EXECUTOR_EXECUTOR_H

#include <executor/future.h>
#include <executor/async.h>
#include <executor/cancel.h>
#include <executor/runtime.h>
#include <executor/task.h>
#include <executor/blocking.h>
#include <executor/signal.h>
/* Parts that may be built later (I/O and timers, sync primitives) are included when present. */
#if defined(__has_include)
#if __has_include(<executor/io.h>)
#include <executor/io.h>
#endif
#if __has_include(<executor/time.h>)
#include <executor/time.h>
#endif
#endif

#endif /* EXECUTOR_EXECUTOR_H */
