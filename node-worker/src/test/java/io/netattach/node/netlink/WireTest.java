package io.netattach.node.netlink;

import io.netattach.node.netlink.addr.IpPrefix;
import io.netattach.node.netlink.link.InterfaceName;
import io.netattach.node.netlink.link.Mac;
import io.netattach.node.netlink.wire.Attrs;
import io.netattach.node.netlink.wire.MessageBuilder;
import io.netattach.node.netlink.wire.Nl;
import io.netattach.node.netlink.wire.Wire;
import org.junit.jupiter.api.Test;

import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WireTest {
    @Test
    void addressesAreReportedInTheirRfc5952Form() {
        for (String[] c : List.of(new String[] {"fd50:0:0:0:0:0:0:5/64", "fd50::5/64"}, new String[] {"0:0:0:0:0:0:0:1/128", "::1/128"},
                new String[] {"2001:db8:0:0:1:0:0:1/64", "2001:db8::1:0:0:1/64"}, new String[] {"2001:db8:0:1:1:1:1:1/64", "2001:db8:0:1:1:1:1:1/64"},
                new String[] {"FE80:0:0:0:0:0:0:0/10", "fe80::/10"}, new String[] {"10.1.2.3/24", "10.1.2.3/24"})) {
            assertEquals(c[1], IpPrefix.parse("ip", c[0]).toString(), c[0]);
        }
    }

    @Test
    void attributesArePaddedToFourBytesAndNestLengthCoversPaddedChildren() {
        MessageBuilder b = new MessageBuilder(Nl.RTM_NEWLINK, Nl.NLM_F_REQUEST);
        int n = b.nest(18);
        b.attrString(1, "abcde"); // 4 + 6 = 10 bytes, padded to 12
        b.attrU8(2, 7);          // 5 bytes, padded to 8
        b.end(n);
        byte[] msg = b.build(1, 0);
        assertEquals(16 + 4 + 12 + 8, msg.length);
        assertEquals("18001200", HexFormat.of().formatHex(msg, 16, 20));
        Attrs outer = Attrs.parse(msg, 16, msg.length);
        Attrs inner = outer.get(18).nested();
        assertEquals("abcde", inner.string(1));
        assertEquals(7, inner.get(2).u8());
    }

    @Test
    void headerCarriesLengthTypeFlagsSequenceAndPid() {
        byte[] msg = new MessageBuilder(Nl.RTM_GETLINK, Nl.NLM_F_REQUEST | Nl.NLM_F_DUMP).u32(0).build(0x01020304, 9);
        assertEquals("140000001200010304030201" + "09000000" + "00000000", HexFormat.of().formatHex(msg));
    }

    @Test
    void errorMessageYieldsErrnoAndExtendedAckText() {
        // NLMSG_ERROR, flags CAPPED|ACK_TLVS, error -95, echoed header only, then NLMSGERR_ATTR_MSG.
        MessageBuilder b = new MessageBuilder(Nl.NLMSG_ERROR, Nl.NLM_F_CAPPED | Nl.NLM_F_ACK_TLVS)
                .u32(-95).u32(84).u16(16).u16(0x605).u32(7).u32(0)
                .attrString(Nl.NLMSGERR_ATTR_MSG, "Unknown device type");
        byte[] msg = b.build(7, 0);
        List<Wire> ws = Wire.split(msg, msg.length);
        assertEquals(1, ws.size());
        assertEquals(95, ws.getFirst().errorCode());
        assertEquals("Unknown device type", ws.getFirst().extAckMessage());
    }

    @Test
    void ackWithoutTlvsHasNoKernelMessage() {
        byte[] msg = new MessageBuilder(Nl.NLMSG_ERROR, 0).u32(0).u32(16).u16(16).u16(5).u32(1).u32(0).build(1, 0);
        Wire w = Wire.split(msg, msg.length).getFirst();
        assertEquals(0, w.errorCode());
        assertNull(w.extAckMessage());
    }

    @Test
    void severalMessagesInOneDatagramAreSplit() {
        byte[] a = new MessageBuilder(16, Nl.NLM_F_MULTI).u32(1).build(5, 0);
        byte[] d = new MessageBuilder(Nl.NLMSG_DONE, Nl.NLM_F_MULTI).u32(0).build(5, 0);
        byte[] both = new byte[a.length + d.length];
        System.arraycopy(a, 0, both, 0, a.length);
        System.arraycopy(d, 0, both, a.length, d.length);
        List<Wire> ws = Wire.split(both, both.length);
        assertEquals(List.of(16, Nl.NLMSG_DONE), ws.stream().map(Wire::type).toList());
    }

    @Test
    void interfaceNamesFollowTheKernelRules() {
        assertEquals("net1", InterfaceName.validate("interface", "net1"));
        assertEquals("a23456789012345", InterfaceName.validate("interface", "a23456789012345"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> InterfaceName.validate("interface", "a234567890123456"));
        assertTrue(e.getMessage().contains("interface \"a234567890123456\" is longer than 15 bytes"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> InterfaceName.validate("interface", "a/b"));
        assertThrows(IllegalArgumentException.class, () -> InterfaceName.validate("interface", "a b"));
        assertThrows(IllegalArgumentException.class, () -> InterfaceName.validate("interface", "."));
        assertThrows(IllegalArgumentException.class, () -> InterfaceName.validate("interface", ".."));
        assertThrows(IllegalArgumentException.class, () -> InterfaceName.validate("interface", ""));
    }

    @Test
    void macsAndPrefixesAreValidatedWithTheFieldInTheMessage() {
        assertEquals("02:aa:bb:cc:dd:ee", Mac.parse("mac", "02-AA-BB-CC-DD-EE").toString());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> Mac.parse("mac", "02:aa:bb:cc:dd"));
        assertEquals("mac \"02:aa:bb:cc:dd\" is not a MAC address (expected aa:bb:cc:dd:ee:ff)", bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Mac.parse("mac", "01:00:5e:00:00:01"));
        assertEquals("10.1.2.3/24", IpPrefix.parse("ips[0]", "10.1.2.3/24").toString());
        assertEquals("10.1.2.0/24", IpPrefix.parse("ips[0]", "10.1.2.3/24").network().toString());
        assertEquals("fd00::5/64", IpPrefix.parse("ips[1]", "fd00::5/64").toString());
        assertThrows(IllegalArgumentException.class, () -> IpPrefix.parse("ips[0]", "10.1.2.300/24"));
        assertThrows(IllegalArgumentException.class, () -> IpPrefix.parse("ips[0]", "10.1.2.3/33"));
        // literal addresses only, in the forms the kernel takes: four dotted decimal parts, or IPv6
        for (String notLiteral : List.of("10.1/8", "10.1.2/24", "1.2.3.4.5/32", "1..2.3/24", "0x0a.1.2.3/24", "1234.1.2.3/24", "fe80::1%eth0/64", "fd00::g/64", "/24", " 10.1.2.3/24")) {
            assertThrows(IllegalArgumentException.class, () -> IpPrefix.parse("ips[0]", notLiteral), notLiteral);
        }
        assertEquals("::a01:203/96", IpPrefix.parse("ips[0]", "::10.1.2.3/96").toString());
        assertEquals("255.255.255.255/32", IpPrefix.parse("ips[0]", "255.255.255.255/32").toString());
        IllegalArgumentException host = assertThrows(IllegalArgumentException.class, () -> IpPrefix.parse("ips[0]", "example.com/24"));
        assertEquals("ips[0]: \"example.com/24\" is not an IP address (host names are never resolved)", host.getMessage());
    }
}
