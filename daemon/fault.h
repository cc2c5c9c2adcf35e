/* SPDX-License-Identifier: MIT */
/*
 * daemon/fault.h — fault injection for tests: hold a write of the state directory in the middle,
 * so that a test can act (send SIGTERM, disconnect) while it is half done, without sleeping.
 *
 * Off unless the environment names a directory in EXECD_FAULT_HOLD_WRITE. Then, at the hold
 * point of each crash-safe write (the data written to the temporary file, not yet synced nor
 * renamed into place), if DIR/reached exists the writing thread opens it for writing — it
 * blocks until the test opens it for reading — writes the file's name and a newline, then opens
 * DIR/release for reading, which blocks until the test opens it for writing, and reads to its
 * end. Both are FIFOs the test makes (mkfifo); a test removes DIR/reached once it was reached so
 * that later writes pass. tests/daemon/test_detach_shutdown.py is the user; a base backup's
 * commit point (backup.json written, not renamed into place) holds there too (test_backup.py).
 */
#ifndef EXECD_FAULT_H
#define EXECD_FAULT_H

/**
 * The hold point of a write of "dir/name" (see above). Blocking: call only where blocking is
 * allowed (the blocking pool, start-up). Returns at once when fault injection is off. Errors of
 * the FIFOs are ignored (the write goes on). Thread-safe.
 */
void fault_hold_write(const char *dir, const char *name);

#endif /* EXECD_FAULT_H */
