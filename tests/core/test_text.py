from effleura.core.text import printable


def test_it_turns_control_characters_into_spaces():
    assert printable("a\x00b\tc\nd") == "a b c d"


def test_it_keeps_printable_text_and_accepts_none():
    assert printable("Zoë O’Brien-Łukasz 555-0134") == "Zoë O’Brien-Łukasz 555-0134"
    assert printable(None) == ""
