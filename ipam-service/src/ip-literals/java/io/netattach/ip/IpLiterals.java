package io.netattach.ip;

import inet.ipaddr.AddressStringException;
import inet.ipaddr.AddressStringParameters.RangeParameters;
import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import inet.ipaddr.IPAddressStringParameters;

import java.util.regex.Pattern;

/**
 * IP literals and CIDRs as every netattach service reads them (docs/architecture.md, "IP literals and CIDRs"):
 * the IPAddress library with one strict option set, compiled into each service from this one file. Text is
 * parsed as a literal only, so no input ever reaches a name lookup.
 */
public final class IpLiterals {
    // Dotted decimal only: inet_aton's octal, hex, short and single-number forms read differently in C, Go and Java.
    private static final IPAddressStringParameters STRICT;

    static {
        IPAddressStringParameters.Builder b = new IPAddressStringParameters.Builder()
                .allowEmpty(false).allowAll(false).allowSingleSegment(false).allowPrefixOnly(false).allowMask(false)
                .allowWildcardedSeparator(false).setRangeOptions(RangeParameters.NO_RANGE).allow_inet_aton(false);
        b.getIPv4AddressParametersBuilder().allowLeadingZeros(false).allowUnlimitedLeadingZeros(false)
                .allowBinary(false).allowPrefixesBeyondAddressSize(false);
        b.getIPv6AddressParametersBuilder().allowZone(false).allowBase85(false).allowBinary(false)
                .allowUnlimitedLeadingZeros(false).allowPrefixesBeyondAddressSize(false);
        b.getIPv6AddressParametersBuilder().getEmbeddedIPv4AddressParametersBuilder().allowLeadingZeros(false);
        STRICT = b.toParams();
    }

    // The library reads "/0" as a leading zero when that option is off, so the length is checked here instead.
    private static final Pattern PREFIX_LENGTH = Pattern.compile("0|[1-9][0-9]{0,2}");
    private static final Pattern LEADING_ZERO = Pattern.compile("(^|[.:])0[0-9]");
    private static final Pattern HEX_PART = Pattern.compile("(^|\\.)0[xX]");
    private static final Pattern DIGITS_AND_DOTS = Pattern.compile("[0-9.]+");

    private IpLiterals() {
    }

    /** A bare address (no prefix length), e.g. a gateway or a name server. */
    public static IPAddress address(String field, String text) {
        IPAddress a = parse(field, text);
        if (a.getNetworkPrefixLength() != null) throw new InvalidIpLiteral(field, text, "has a prefix length; a bare address is expected here");
        return a;
    }

    /** Address and prefix length, e.g. "10.1.2.3/24"; host bits are kept, each caller decides what they mean. */
    public static IPAddress cidr(String field, String text) {
        IPAddress a = parse(field, text);
        if (a.getNetworkPrefixLength() == null) throw new InvalidIpLiteral(field, text, "has no prefix length (expected address/length, e.g. 10.1.2.3/24)");
        return a;
    }

    /** Either: a CIDR, or a bare address (getNetworkPrefixLength() is then null). */
    public static IPAddress addressOrCidr(String field, String text) {
        return parse(field, text);
    }

    private static IPAddress parse(String field, String text) {
        if (text == null || text.isEmpty()) throw new InvalidIpLiteral(field, text, "is empty");
        if (!text.strip().equals(text) || text.chars().anyMatch(Character::isWhitespace)) {
            throw new InvalidIpLiteral(field, text, "contains white space");
        }
        int slash = text.indexOf('/');
        if (slash >= 0 && !PREFIX_LENGTH.matcher(text.substring(slash + 1)).matches()) {
            throw new InvalidIpLiteral(field, text, "has a prefix length that is not a decimal number without leading zeros");
        }
        try {
            return new IPAddressString(text, STRICT).toAddress();
        } catch (AddressStringException e) {
            if (slash < 0) throw new InvalidIpLiteral(field, text, reason(text, e));
            String address = text.substring(0, slash);
            IPAddress bare;
            try {
                bare = new IPAddressString(address, STRICT).toAddress();
            } catch (AddressStringException onAddress) {
                throw new InvalidIpLiteral(field, text, reason(address, onAddress));
            }
            throw new InvalidIpLiteral(field, text, "has a prefix length beyond the " + bare.getBitCount() + " bits of an " + (bare.isIPv4() ? "IPv4" : "IPv6") + " address");
        }
    }

    private static String reason(String address, AddressStringException e) {
        if (address.indexOf('%') >= 0) {
            return "has an IPv6 zone; a zone names an interface of one host and has no place in a configured address";
        }
        if (address.indexOf(':') < 0) {
            if (HEX_PART.matcher(address).find()) return "is in inet_aton hexadecimal form; write the address in dotted decimal";
            if (LEADING_ZERO.matcher(address).find()) {
                return "is ambiguous: a leading zero reads as octal to some parsers and as decimal to others; write each part without leading zeros";
            }
            if (DIGITS_AND_DOTS.matcher(address).matches()) {
                return address.split("\\.", -1).length != 4
                        ? "does not have four dotted decimal parts (inet_aton's short forms are not accepted)"
                        : "has a part that is empty or above 255";
            }
            return "is not an IP address (host names are never resolved)";
        }
        String tail = address.substring(address.lastIndexOf(':') + 1);
        if (tail.indexOf('.') >= 0 && LEADING_ZERO.matcher(tail).find()) {
            return "is ambiguous: its IPv4 part has a leading zero that reads as octal to some parsers and as decimal to others";
        }
        return "is not an IP address (" + e.getMessage().replace(address, "").replace("IP Address error:", "").strip() + ")";
    }
}
