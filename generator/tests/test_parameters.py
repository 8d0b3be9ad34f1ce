"""parse_parameters(): --wiregen_opt=framing=<path>[,framing_name=<name>]."""

import pytest

from wiregen.diagnostics import SpecError
from wiregen.parameters import Parameters, parse_parameters

WHERE = "protoc-gen-wiregen parameters"
KNOWN = ("use one of: framing (path of the framing spec (.framing.textpb)), "
         "framing_name (how the spec is named in generated banners (default: its file name))")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("framing=chat.framing.textpb",
         Parameters("chat.framing.textpb", "chat.framing.textpb")),
        ("framing=/src/proto/chat.framing.textpb",
         Parameters("/src/proto/chat.framing.textpb", "chat.framing.textpb")),
        (r"framing=C:\src\chat.framing.textpb",
         Parameters(r"C:\src\chat.framing.textpb", "chat.framing.textpb")),
        ("framing=/a/b.textpb,framing_name=proto/b.textpb",
         Parameters("/a/b.textpb", "proto/b.textpb")),
        ("framing_name=shown,framing=/a/b.textpb", Parameters("/a/b.textpb", "shown")),
        ("framing=/a/b.textpb,framing_name=", Parameters("/a/b.textpb", "b.textpb")),
        (" framing=/a/b.textpb , ,", Parameters("/a/b.textpb", "b.textpb")),
        ("framing=/a/b=c.textpb", Parameters("/a/b=c.textpb", "b=c.textpb")),
    ],
)
def test_valid(text, expected):
    assert parse_parameters(text) == expected


def errors(text):
    with pytest.raises(SpecError) as caught:
        parse_parameters(text)
    for diagnostic in caught.value.diagnostics:
        assert (diagnostic.path, diagnostic.line, diagnostic.subject) == (WHERE, None, "")
    return [str(diagnostic) for diagnostic in caught.value.diagnostics]


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(
            "framing=a.textpb,fraiming_name=x",
            [f"{WHERE}: unknown parameter 'fraiming_name=x' (fix: {KNOWN})"],
            id="unknown-key",
        ),
        pytest.param(
            "framing=a.textpb,verbose",
            [f"{WHERE}: unknown parameter 'verbose' (fix: {KNOWN})"],
            id="key-without-value",
        ),
        pytest.param(
            "framing=a.textpb,framing=b.textpb",
            [f"{WHERE}: parameter 'framing' given twice (fix: give it once)"],
            id="framing-twice",
        ),
        pytest.param(
            "framing=a.textpb,framing_name=x,framing_name=y",
            [f"{WHERE}: parameter 'framing_name' given twice (fix: give it once)"],
            id="framing-name-twice",
        ),
        pytest.param(
            "",
            [f"{WHERE}: no framing spec given (fix: pass "
             "--wiregen_opt=framing=<path to .framing.textpb> "
             "(wiregen_generate() does this for you))"],
            id="nothing",
        ),
        pytest.param(
            "framing_name=x",
            [f"{WHERE}: no framing spec given (fix: pass "
             "--wiregen_opt=framing=<path to .framing.textpb> "
             "(wiregen_generate() does this for you))"],
            id="no-framing",
        ),
        pytest.param(
            "a=1,framing=x,b=2,framing=y",
            [f"{WHERE}: unknown parameter 'a=1' (fix: {KNOWN})",
             f"{WHERE}: unknown parameter 'b=2' (fix: {KNOWN})",
             f"{WHERE}: parameter 'framing' given twice (fix: give it once)"],
            id="every-problem",
        ),
    ],
)
def test_invalid(text, expected):
    assert errors(text) == expected
