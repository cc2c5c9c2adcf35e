#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Drive the console image of a board under QEMU through its serial port (a unix socket in a
temporary directory): send commands, check the replies. Every wait is for expected output, with
a deadline. Exit 0 pass, 1 fail, 77 skip."""
import os
import socket
import subprocess
import sys
import tempfile
import time

DEADLINE = 45.0


def main():
    board = sys.argv[1]
    qemu = os.environ.get("QEMU_ARM", "")
    if not os.environ.get("ARM_CC") or not qemu:
        print("SKIP: arm-none-eabi-gcc or qemu-system-arm not found")
        return 77
    img = os.path.join(os.environ["FW_BUILDDIR"], "build", board, "console.elf")
    if not os.path.exists(img):
        print("FAIL: no console image " + img)
        return 99
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "serial")
        proc = subprocess.Popen(
            [qemu, "-M", board, "-icount", "shift=0", "-nographic", "-monitor", "none",
             "-chardev", "socket,id=ser,path=%s,server=on,wait=off" % path,
             "-serial", "chardev:ser", "-kernel", img],
            stdin=subprocess.DEVNULL)
        try:
            return converse(proc, path)
        finally:
            proc.kill()
            proc.wait()


def connect(proc, path):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end and proc.poll() is None:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        except OSError:
            s.close()
            time.sleep(0.05)  # the socket is not there yet: poll its appearance, bounded
    raise RuntimeError("cannot connect to QEMU's serial socket")


class Serial:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self, deadline=DEADLINE):
        end = time.monotonic() + deadline
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise RuntimeError("timed out waiting for a reply; got %r" % self.buf)
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                raise RuntimeError("timed out waiting for a reply; got %r" % self.buf)
            if not data:
                raise RuntimeError("serial closed")
            self.buf += data
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln.decode()

    def send(self, text):
        self.sock.sendall(text.encode())


def expect(cond, what):
    if not cond:
        raise RuntimeError(what)


def converse(proc, path):
    ser = Serial(connect(proc, path))
    # Bytes sent before the image enabled its UART are dropped (STM32 USART model), and the
    # banner may have gone out before we connected: repeat "help" until it is answered.
    end = time.monotonic() + DEADLINE
    while True:
        ser.send("help\n")
        try:
            ln = ser.line(1.0)
            while not ln.startswith("commands:"):
                ln = ser.line(1.0)
            break
        except (RuntimeError, OSError):
            expect(time.monotonic() < end, "no answer to help")
    # drain the answers to repeated helps: ask for a marker reply
    ser.send("led off\n")
    while ser.line() != "led off":
        pass
    ser.send("uptime\n")
    up = ser.line().split()
    expect(up[0] == "uptime" and int(up[1]) >= 0, "uptime: %r" % up)
    ser.send("tasks\n")
    blink = ser.line()
    expect(blink.startswith("task blink thread "), "tasks: %r" % blink)
    expect(ser.line() == "task console thread running", "tasks: console")
    expect(ser.line().startswith("polls "), "tasks: polls")
    ser.send("led on\n")
    expect(ser.line() == "led on", "led on")
    ser.send("led off\n")
    expect(ser.line() == "led off", "led off")
    ser.send("sleep 30\n")
    slept = ser.line().split()
    expect(slept[0] == "slept" and int(slept[1]) >= 30, "sleep: %r" % slept)
    ser.send("bogus\n")
    expect(ser.line().startswith("error: unknown command"), "unknown command")
    # A burst while the console task computes for 100 ms in one poll: the RX interrupt must
    # put every byte in the ring (a driver polled between task polls would have room for one,
    # the UART's one-byte FIFO), and every command of the burst must be answered.
    burst = "uptime\n" * 30
    ser.send("busy 100\n" + burst)
    busy = ser.line().split()
    expect(busy[0] == "busy" and busy[2] == "rx_during", "busy: %r" % busy)
    print("console: bytes received during the 100 ms poll: %s of %d" % (busy[3], len(burst)))
    for i in range(30):
        ln = ser.line()
        expect(ln.startswith("uptime "), "burst reply %d: %r" % (i, ln))
    ser.send("stats\n")
    st = ser.line().split()
    expect(st[0] == "stats" and st[3] == "overruns" and st[4] == "0", "stats: %r" % st)
    print("console: " + " ".join(st))
    expect(int(busy[3]) > 1, "only %s bytes arrived during the busy poll" % busy[3])
    print("PASS: console on " + sys.argv[1])
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, OSError) as e:
        print("FAIL: %s" % e)
        sys.exit(1)
