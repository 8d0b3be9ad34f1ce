"""What /proc says about a process, for the tests that measure a server from outside."""

import os


def status_kib(pid, field):
    """A size from /proc/PID/status (VmRSS, VmSize, ...), in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def rss_kib(pid):
    return status_kib(pid, "VmRSS")


def vm_size_kib(pid):
    return status_kib(pid, "VmSize")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))
