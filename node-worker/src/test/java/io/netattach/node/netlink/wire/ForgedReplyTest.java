package io.netattach.node.netlink.wire;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A process with CAP_NET_ADMIN in the socket's namespace (a pod's NET_ADMIN container, for a socket node-worker
 * opened in the pod) can send netlink datagrams to the socket's port id. Its forged error for the request's sequence
 * number is not taken for the kernel's answer.
 */
class ForgedReplyTest {
    private static final int FORGED = 64;

    @Test
    void aDatagramFromAnotherProcessThanTheKernelIsNotTakenForTheAnswer() {
        try (NetlinkSocket socket = NetlinkSocket.open("this test's namespace")) {
            int port = socket.portId();
            int forger = Libc.socket(Libc.AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, Libc.NETLINK_ROUTE);
            try (Arena a = Arena.ofConfined()) {
                // "operation not permitted" for each of the next sequence numbers, addressed to the socket's port id
                int first = NetlinkSocket.nextSeq();
                ByteBuffer b = ByteBuffer.allocate(FORGED * 36).order(ByteOrder.nativeOrder());
                for (int i = 0; i < FORGED; i++) {
                    b.putInt(36).putShort((short) Nl.NLMSG_ERROR).putShort((short) 0).putInt((first + i) & 0x7fffffff).putInt(port);
                    b.putInt(-1); // -EPERM
                    b.put(new byte[16]); // the "request" it answers
                }
                MemorySegment forged = a.allocate(b.capacity(), 8);
                MemorySegment.copy(b.array(), 0, forged, ValueLayout.JAVA_BYTE, 0, b.capacity());
                MemorySegment to = NetlinkSocket.sockaddrNl(a);
                to.set(ValueLayout.JAVA_INT, 4, port);
                Libc.sendto(forger, forged, b.capacity(), to);
            } finally {
                Libc.close(forger);
            }
            // the kernel's answer to a read-only request: loopback's link
            MessageBuilder getLo = new MessageBuilder(Nl.RTM_GETLINK, 0).u8(0).u8(0).u16(0).u32(0).u32(0).u32(0).attrString(3, "lo");
            Wire lo = socket.query("get link lo", getLo).getFirst();
            assertEquals(Nl.RTM_NEWLINK, lo.type(), "the kernel's RTM_NEWLINK for lo");
            assertTrue(socket.foreignDropped() >= 1, "the forged datagram was read and dropped");
        }
    }
}
