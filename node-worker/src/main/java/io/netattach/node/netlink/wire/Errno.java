package io.netattach.node.netlink.wire;

import java.util.Map;

/** Linux errno numbers (x86-64 / generic) to their symbolic names and texts, for error messages. */
public final class Errno {
    public static final int EPERM = 1, ENOENT = 2, EINTR = 4, EBADF = 9, EAGAIN = 11, EBUSY = 16, EEXIST = 17,
            ENODEV = 19, EINVAL = 22, ERANGE = 34, EOPNOTSUPP = 95, EADDRNOTAVAIL = 99, ENETUNREACH = 101, ESRCH = 3, ENOBUFS_FALLBACK = 105;

    private record Entry(String name, String text) {}

    private static final Map<Integer, Entry> TABLE = Map.ofEntries(
            Map.entry(1, new Entry("EPERM", "Operation not permitted")),
            Map.entry(2, new Entry("ENOENT", "No such file or directory")),
            Map.entry(3, new Entry("ESRCH", "No such process")),
            Map.entry(4, new Entry("EINTR", "Interrupted system call")),
            Map.entry(5, new Entry("EIO", "Input/output error")),
            Map.entry(6, new Entry("ENXIO", "No such device or address")),
            Map.entry(9, new Entry("EBADF", "Bad file descriptor")),
            Map.entry(11, new Entry("EAGAIN", "Resource temporarily unavailable")),
            Map.entry(12, new Entry("ENOMEM", "Cannot allocate memory")),
            Map.entry(13, new Entry("EACCES", "Permission denied")),
            Map.entry(16, new Entry("EBUSY", "Device or resource busy")),
            Map.entry(17, new Entry("EEXIST", "File exists")),
            Map.entry(18, new Entry("EXDEV", "Invalid cross-device link")),
            Map.entry(19, new Entry("ENODEV", "No such device")),
            Map.entry(20, new Entry("ENOTDIR", "Not a directory")),
            Map.entry(22, new Entry("EINVAL", "Invalid argument")),
            Map.entry(24, new Entry("EMFILE", "Too many open files")),
            Map.entry(28, new Entry("ENOSPC", "No space left on device")),
            Map.entry(34, new Entry("ERANGE", "Numerical result out of range")),
            Map.entry(36, new Entry("ENAMETOOLONG", "File name too long")),
            Map.entry(38, new Entry("ENOSYS", "Function not implemented")),
            Map.entry(61, new Entry("ENODATA", "No data available")),
            Map.entry(71, new Entry("EPROTO", "Protocol error")),
            Map.entry(90, new Entry("EMSGSIZE", "Message too long")),
            Map.entry(93, new Entry("EPROTONOSUPPORT", "Protocol not supported")),
            Map.entry(95, new Entry("EOPNOTSUPP", "Operation not supported")),
            Map.entry(97, new Entry("EAFNOSUPPORT", "Address family not supported by protocol")),
            Map.entry(98, new Entry("EADDRINUSE", "Address already in use")),
            Map.entry(99, new Entry("EADDRNOTAVAIL", "Cannot assign requested address")),
            Map.entry(100, new Entry("ENETDOWN", "Network is down")),
            Map.entry(101, new Entry("ENETUNREACH", "Network is unreachable")),
            Map.entry(105, new Entry("ENOBUFS", "No buffer space available")),
            Map.entry(110, new Entry("ETIMEDOUT", "Connection timed out")),
            Map.entry(113, new Entry("EHOSTUNREACH", "No route to host")));

    private Errno() {}

    public static String name(int errno) {
        Entry e = TABLE.get(errno);
        return e == null ? "errno " + errno : e.name();
    }

    public static String text(int errno) {
        Entry e = TABLE.get(errno);
        return e == null ? "unknown error" : e.text();
    }
}
