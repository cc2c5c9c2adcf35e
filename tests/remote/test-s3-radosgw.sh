#!/bin/sh
# SPDX-License-Identifier: MIT
# The S3 client (tests/remote/test_s3) against a real Ceph radosgw on the loopback, started and
# stopped around it by tests/common/radosgw.sh; skipped (77) with its reason when radosgw cannot
# be started here. Run from the build directory (make check).
set -eu
: "${RADOSGW_SH:=$(dirname "$0")/../common/radosgw.sh}"
[ -x ./test_s3 ] || { echo "SKIP: ./test_s3 not built" >&2; exit 77; }
# CK_FORK: every test case in a process of its own (the default, said so for a caller's env).
CK_FORK=yes exec "$RADOSGW_SH" run ./test_s3
