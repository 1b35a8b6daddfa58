"""Field access with paths and positions, and the API server's format checks.

`Field` is a cursor on one value of an object: it knows its field path (`spec.ports[0].port`) and its
source position, reads typed values, and records a Diagnostic for anything wrong instead of raising.
The checks (names, labels, ports, addresses) follow k8s.io/apimachinery validation, messages included.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from socket import AF_INET, inet_pton
from typing import Any

from ..errors import Diagnostic, Position, invalid, required, too_long, unsupported
from ..model import IPAddress, IPNetwork
from ..values import Record
from .documents import YList, YMap, key_text


class Report:
    """Collects the diagnostics of one object, prefixed with `Kind "ns/name"` (`obj`: the text, or what
    makes it; most objects have nothing to report, so it is only made for the first diagnostic)."""

    def __init__(self, obj: str | Callable[[], str], errors: list[Diagnostic]) -> None:
        self._obj = obj
        self.errors = errors
        self.count = 0

    @property
    def obj(self) -> str:
        if not isinstance(self._obj, str):
            self._obj = self._obj()
        return self._obj

    def add(self, position: Position | None, path: str, message: str) -> None:
        self.count += 1
        self.errors.append(Diagnostic(position, self.obj, path, message))


class Field(Record):
    """The value reached from `up` by `step` (a key, or `[index]`/`[key]`), held by `parent[key]`.

    The field path (`spec.ports[0].port`) is only spelled out when an error needs it: reading a large
    input walks millions of fields and reports, usually, none. (A `values.Record`: a dataclass's repr and
    equality, without the methods a dataclass generates at import.)
    """

    _fields = ("report", "value", "up", "step", "parent", "key")
    __slots__ = _fields

    def __init__(
        self,
        report: Report,
        value: Any,
        up: Field | None = None,
        step: str = "",
        parent: YMap | YList | None = None,
        key: str | int | None = None,
    ) -> None:
        self.report = report
        self.value = value
        self.up = up
        self.step = step
        self.parent = parent
        self.key = key

    @property
    def path(self) -> str:
        if self.up is None:
            return self.step
        base = self.up.path
        if not base or self.step.startswith("["):
            return base + self.step
        return f"{base}.{self.step}"

    @property
    def position(self) -> Position | None:
        if isinstance(self.value, YMap | YList):
            return self.value.position()
        if isinstance(self.parent, YMap):
            assert isinstance(self.key, str)
            return self.parent.position(self.key)
        if isinstance(self.parent, YList):
            assert isinstance(self.key, int)
            return self.parent.position(self.key)
        return None

    @property
    def present(self) -> bool:
        return self.value is not None

    def error(self, message: str) -> None:
        self.report.add(self.position, self.path, message)

    def child(self, key: str) -> Field:
        """`self.key`; absent (None) when missing or when self is not a mapping."""
        if isinstance(self.value, YMap):
            return Field(self.report, self.value.get(key), self, key, self.value, key)
        return Field(self.report, None, self, key, None, key)

    def is_map(self) -> bool:
        """True for a mapping; absent is fine (False, no error); anything else is an error."""
        if isinstance(self.value, YMap):
            return True
        if self.value is not None:
            self.error(invalid(self.value, "must be an object"))
        return False

    def required_map(self) -> bool:
        """True for a mapping; absent is a Required value error, anything else is an error."""
        if not self.present:
            self.error(required())
            return False
        return self.is_map()

    def items(self) -> Iterator[Field]:
        """The items of a list; absent yields nothing; a non-list is an error."""
        if self.value is None:
            return
        if not isinstance(self.value, YList):
            self.error(invalid(self.value, "must be a list"))
            return
        for index, item in enumerate(self.value):
            yield Field(self.report, item, self, f"[{index}]", self.value, index)

    def object_items(self) -> Iterator[Field]:
        """The items of a list of objects. A null item (a bare `-`) is an empty object, as the API server
        decodes it: the zero value, then defaulted and validated as any other item."""
        for item in self.items():
            if item.value is None:
                assert isinstance(self.value, YList) and isinstance(item.key, int)
                positions = self.value.positions
                item.value = YMap(self.value.file, positions[item.key] if item.key < len(positions) else self.value.pos)
            yield item

    def item_choice(self, supported: tuple[str, ...]) -> str | None:
        """An item of a list of strings, one of `supported`: a null item is the empty string (the zero
        value), which is not."""
        if self.value is None or self.value == "":
            self.error(unsupported("", supported))
            return None
        return self.choice(supported)

    def entries(self) -> Iterator[tuple[str, Field]]:
        """The (key, value) pairs of a mapping, with `path[key]` paths (label maps, selectors)."""
        if not self.is_map():
            return
        assert isinstance(self.value, YMap)
        for key, value in self.value.items():
            yield key, Field(self.report, value, self, f"[{key_text(key)}]", self.value, key)

    def string(self, *, required_: bool = False, default: str | None = None) -> str | None:
        if self.value is None or self.value == "":
            if required_:
                self.error(required())
            return default
        if isinstance(self.value, str):
            return self.value
        if isinstance(self.value, bool | int | float) and not isinstance(self.value, bool):
            self.error(invalid(self.value, "must be a string"))
            return None
        self.error(invalid(self.value if not isinstance(self.value, YMap | YList) else "<object>", "must be a string"))
        return None

    def integer(self, *, required_: bool = False) -> int | None:
        if self.value is None:
            if required_:
                self.error(required())
            return None
        if isinstance(self.value, int) and not isinstance(self.value, bool):
            return self.value
        self.error(invalid(_brief(self.value), "must be an integer"))
        return None

    def boolean(self, *, default: bool) -> bool:
        if self.value is None:
            return default
        if isinstance(self.value, bool):
            return self.value
        self.error(invalid(_brief(self.value), "must be a boolean"))
        return default

    def choice(self, supported: tuple[str, ...], *, default: str | None = None) -> str | None:
        value = self.string()
        if value is None:
            return default
        if value not in supported:
            self.error(unsupported(value, supported))
            return None
        return value


def _brief(value: Any) -> Any:
    return "<object>" if isinstance(value, YMap) else "<list>" if isinstance(value, YList) else value


# --- names (k8s.io/apimachinery/pkg/util/validation) -------------------------------------------------

_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
# Always `fullmatch`: with `match`, `$` also matches before a trailing newline, so "name\n" would pass.
_DNS1123_LABEL_RE = re.compile(f"^{_DNS1123_LABEL}$")
_DNS1123_SUBDOMAIN_RE = re.compile(f"^{_DNS1123_LABEL}(\\.{_DNS1123_LABEL})*$")
_DNS1035_LABEL_RE = re.compile("^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME_RE = re.compile("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE_RE = re.compile("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_IANA_SVC_NAME_RE = re.compile("^[-a-z0-9]+$")


def dns1123_label(value: str) -> str | None:
    """None when valid, else the API server's explanation."""
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _DNS1123_LABEL_RE.fullmatch(value):
        return (
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
            "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
            f"validation is '{_DNS1123_LABEL}')"
        )
    return None


def dns1123_subdomain(value: str) -> str | None:
    if len(value) > 253:
        return "must be no more than 253 characters"
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        return (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
            "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "
            f"is '{_DNS1123_LABEL}(\\.{_DNS1123_LABEL})*')"
        )
    return None


def dns1035_label(value: str) -> str | None:
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _DNS1035_LABEL_RE.fullmatch(value):
        return (
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
            "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
            "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
        )
    return None


def qualified_name(value: str) -> str | None:
    """Label keys: an optional DNS-1123 subdomain prefix, '/', and a name of at most 63 characters."""
    prefix, slash, name = value.rpartition("/")
    if slash:
        if not prefix:
            return "prefix part must be non-empty"
        problem = dns1123_subdomain(prefix)
        if problem:
            return f"prefix part {problem}"
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        return (
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
            "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation "
            "is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        )
    return None


def label_value(value: str) -> str | None:
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _LABEL_VALUE_RE.fullmatch(value):
        return (
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
            "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
            "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        )
    return None


def fqdn(value: str) -> str | None:
    """IsFullyQualifiedDomainName: a DNS-1123 subdomain of at least two labels (a trailing dot allowed)."""
    name = value.removesuffix(".")
    problem = dns1123_subdomain(name)
    if problem:
        return problem
    if name.count(".") < 1:
        return "should be a domain with at least two segments separated by dots"
    return next(("must be no more than 63 characters" for label in name.split(".") if len(label) > 63), None)


def port_name(value: str) -> str | None:
    """IANA_SVC_NAME, as used by container ports, named targetPorts and named policy ports."""
    if len(value) > 15:
        return "must be no more than 15 characters"
    if not _IANA_SVC_NAME_RE.fullmatch(value):
        return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
    if "--" in value:
        return "must not contain consecutive hyphens"
    if not any("a" <= c <= "z" for c in value):
        return "must contain at least one letter (a-z)"
    if value.startswith("-") or value.endswith("-"):
        return "must not begin or end with a hyphen"
    return None


def port_number(value: int) -> str | None:
    return None if 1 <= value <= 65535 else "must be between 1 and 65535, inclusive"


# --- addresses --------------------------------------------------------------------------------------

_IP_EXAMPLE = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
_CIDR_EXAMPLE = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def _ipv4_int(text: str) -> int | None:
    """Dotted decimal IPv4 as an int, leading zeros read as decimal, as many as given, as Kubernetes'
    sloppy parser does (k8s.io/utils/net ParseIPSloppy: "010.001.2.0003" is 10.1.2.3); None when `text`
    is not four decimal parts of at most 255 each."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not (part and part.isdigit() and part.isascii()):
            return None
        digits = part.lstrip("0")  # zeros without end are still zero, and more digits than int() reads too many
        if len(digits) > 3:
            return None
        octet = int(digits) if digits else 0
        if octet > 255:
            return None
        value = (value << 8) | octet
    return value


def parse_ip(text: str) -> IPAddress | None:
    """An address as Kubernetes reads it: leading zeros allowed, IPv4-mapped IPv6 taken as IPv4."""
    try:  # canonical dotted decimal, the common case: libc's strict parser is faster than ours
        return IPv4Address(int.from_bytes(inet_pton(AF_INET, text), "big"))
    except (OSError, ValueError):
        pass
    if not text or not text.isascii() or text.strip() != text or "%" in text:
        return None
    as_int = _ipv4_int(text)
    if as_int is not None:
        return IPv4Address(as_int)  # the common case, without ipaddress's string parser
    if "." in text and ":" not in text:
        return None
    try:
        addr = ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def special_ip(addr: IPAddress) -> str | None:
    """Why an address may not be a Service's external IP nor an endpoint (ValidateNonSpecialIP, also
    called ValidateEndpointIP): unspecified, loopback, link-local, link-local multicast; None if none."""
    if addr.version == 4:
        value = int(addr)
        if value == 0:
            return f"may not be unspecified ({addr})"
        if value >> 24 == 127:
            return "may not be in the loopback range (127.0.0.0/8, ::1/128)"
        if value >> 16 == 0xA9FE:
            return "may not be in the link-local range (169.254.0.0/16, fe80::/10)"
        if value >> 8 == 0xE00000:
            return "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
        return None
    if addr.is_unspecified:
        return f"may not be unspecified ({addr})"
    if addr.is_loopback:
        return "may not be in the loopback range (127.0.0.0/8, ::1/128)"
    if addr.is_link_local:
        return "may not be in the link-local range (169.254.0.0/16, fe80::/10)"
    packed = addr.packed
    if packed[0] == 0xFF and packed[1] & 0x0F == 0x02:
        return "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
    return None


@functools.lru_cache(maxsize=4096)  # the same few repeat across policies; networks are immutable, so shared
def parse_cidr(text: str) -> IPNetwork | None:
    """A CIDR as Kubernetes reads it (ParseCIDRSloppy): host bits allowed and cleared, leading zeros in the
    address and in the prefix length ("10.0.0.0/08"), IPv4-mapped prefixes taken as IPv4."""
    if not text.isascii() or "/" not in text:
        return None
    addr_text, _, bits = text.partition("/")
    addr = parse_ip(addr_text)
    if addr is None or not bits.isdigit():  # leading zeros in the length too, as ParseCIDRSloppy (dtoi)
        return None
    digits = bits.lstrip("0")
    if len(digits) > 3:  # no prefix length (and more digits than int() reads)
        return None
    prefix = int(digits) if digits else 0
    if isinstance(addr, IPv4Address) and ":" in addr_text:  # IPv4-mapped: ::ffff:a.b.c.d/120 is a.b.c.d/24
        prefix -= 96
        if prefix < 0:
            return None
    try:
        return ip_network(f"{addr}/{prefix}", strict=False)
    except ValueError:
        return None


def ip_field(f: Field, *, required_: bool = False) -> IPAddress | None:
    text = f.string(required_=required_)
    if text is None:
        return None
    addr = parse_ip(text)
    if addr is None:
        f.error(invalid(text, _IP_EXAMPLE))
    return addr


def cidr_field(f: Field, *, required_: bool = False) -> IPNetwork | None:
    text = f.string(required_=required_)
    if text is None:
        return None
    net = parse_cidr(text)
    if net is None:
        f.error(invalid(text, _CIDR_EXAMPLE))
    return net


def name_field(f: Field, check: Any, *, required_: bool = True) -> str | None:
    value = f.string(required_=required_)
    if value is None:
        return None
    problem = check(value)
    if problem:
        f.error(invalid(value, problem))
        return None
    return value


def labels_field(f: Field) -> tuple[tuple[str, str], ...]:
    """A label map (metadata.labels, matchLabels, Service selector), checked key by key."""
    out: dict[str, str] = {}
    for key, value_field in f.entries():
        key_problem = qualified_name(key)
        if key_problem:
            value_field.error(invalid(key, key_problem))
            continue
        value = value_field.value
        if value is None:
            value = ""
        if isinstance(value, bool | int | float) and not isinstance(value, bool):
            value_field.error(invalid(value, "must be a string (quote numbers in YAML)"))
            continue
        if not isinstance(value, str):
            value_field.error(invalid(_brief(value), "must be a string"))
            continue
        problem = label_value(value)
        if problem:
            value_field.error(invalid(value, problem))
            continue
        out[key] = value
    return tuple(sorted(out.items()))


def too_long_check(f: Field, value: str, limit: int) -> bool:
    if len(value.encode()) > limit:
        f.error(too_long(limit))
        return False
    return True
