"""cmmlib.report: plain rounded numbers and readable tables (no numpy reprs, no float32 noise)."""
import numpy as np

from cmmlib.report import number, table, text


def test_number_plain_and_rounded():
    out = number({"a": np.float64(8.691139630201405e-08), "b": np.float32(0.945), "c": np.int64(3),
                  "d": np.array([1.23456, 2.0])})
    assert out == {"a": 8.69e-08, "b": 0.945, "c": 3, "d": [1.23, 2.0]}
    assert type(out["a"]) is float and type(out["c"]) is int
    assert "np." not in repr(out)
    assert number(-1.39e-17) == 0.0          # round-off of an exact zero
    assert number("label") == "label"


def test_text_formats():
    assert [text(x) for x in (3.001, 0.00126, 0.0, 1e-7, 123456.0, 12345)] == \
        ["3.00", "0.00126", "0", "1.00e-07", "1.23e+05", "12,345"]


def test_table_markdown_and_text():
    t = table({"x": {"a": np.float32(0.9449999928474426), "b": 3}, "y": {"a": 1e-7}}, index="name",
              caption="demo")
    md = t._repr_markdown_()
    assert "| name | a | b |" in md and "| x | 0.945 | 3 |" in md and "| y | 1.00e-07 |  |" in md
    assert "0.9449999" not in md and "0.945" in repr(t)
    flat = table({"err": np.float64(2.5e-3)}, index="check")
    assert "| err | 0.00250 |" in flat._repr_markdown_()


def test_table_aligns_numbers_right_and_text_left():
    md = table([{"item": "Figure 4", "ratio": 1.5, "why": "a|b"}, {"item": "Prop. 2", "ratio": 2, "why": ""}])._repr_markdown_()
    assert "|---|--:|---|" in md            # numbers right, text left
    assert "| Figure 4 | 1.50 | a\\|b |" in md  # a pipe in a cell does not split it
