package io.netattach.ipam.domain;

import org.junit.jupiter.api.Test;

import java.math.BigInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AddressTest {

    @Test
    void parsesAndPrintsCanonicalText() {
        assertEquals("10.1.2.3", Address.parseOrNull("10.1.2.3").toString());
        assertEquals("2001:db8::1", Address.parseOrNull("2001:0DB8:0:0:0:0:0:1").toString());
        assertEquals("::", Address.parseOrNull("::").toString());
        assertEquals("::ffff:10.0.0.1".replace("10.0.0.1", "a00:1"), Address.parseOrNull("::ffff:10.0.0.1").toString());
        assertEquals("2001:db8:0:1:1:1:1:1", Address.parseOrNull("2001:db8:0:1:1:1:1:1").toString()); // a single zero group stays
        assertEquals("fe80::1:0:0:0:1".replace("fe80::1:0:0:0:1", "fe80:0:0:1::1"), Address.parseOrNull("fe80:0:0:1:0:0:0:1").toString());
    }

    @Test
    void rejectsMalformed() {
        for (String s : new String[]{"256.0.0.1", "1.2.3", "1.2.3.4.5", "1::2::3", "12345::", "g::1", "", "fe80::1%eth0", "1.2.3.-1"}) {
            assertNull(Address.parseOrNull(s), s);
        }
        assertNull(Cidr.parseOrNull("10.0.0.0/33"));
        assertNull(Cidr.parseOrNull("10.0.0.0"));
        assertNull(Cidr.parseOrNull("::/129"));
    }

    @Test
    void cidrEdges() {
        Cidr c = Cidr.parseOrNull("10.0.0.0/8");
        assertEquals("10.255.255.255", c.last().toString());
        assertEquals(BigInteger.valueOf(1 << 24), c.size());
        Cidr all = Cidr.parseOrNull("::/0");
        assertEquals("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", all.last().toString());
        assertTrue(all.contains(Address.parseOrNull("::1")));
        assertEquals("0.0.0.0", Cidr.parseOrNull("0.0.0.0/0").network().toString());
        assertEquals("255.255.255.255", Cidr.parseOrNull("255.255.255.255/32").last().toString());
    }
}
