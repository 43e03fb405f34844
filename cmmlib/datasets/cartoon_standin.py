"""A procedural stand-in for the Cartoon Set: labelled cartoon faces drawn with Pillow.

Used by :func:`~.cartoon_data.cartoon` when the real Cartoon Set is not available (no archive,
no network). It is NOT the Cartoon Set: its faces are simpler and its attributes are its own
(:data:`STANDIN_ATTRIBUTES`, names shared with the Cartoon Set where the meaning is the same).

Each face is drawn on white at :data:`SUPERSAMPLE` times the requested size, then reduced by
box averaging (antialiasing). Face ``i`` of seed ``s`` depends on ``(s, i)`` only, so the first
faces of a larger set are the same faces. Beside its discrete attributes, every face carries
continuous jitter (position, scale, eye spacing and height), so no two faces are identical.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

VERSION = 1  # of the drawing; names the cache file, so bump it when the faces change
SUPERSAMPLE = 4
WHITE = (255, 255, 255)
SKIN_COLORS = ((255, 224, 196), (241, 194, 158), (224, 172, 105), (198, 134, 66),
               (141, 85, 36), (92, 58, 30))
HAIR_COLORS = ((35, 30, 30), (90, 56, 37), (140, 90, 50), (165, 60, 30), (230, 190, 110),
               (170, 170, 170), (220, 110, 40), (60, 90, 170))
EYE_COLORS = ((101, 67, 33), (70, 130, 200), (70, 150, 80), (120, 130, 140), (40, 30, 30))
GLASSES_COLORS = ((20, 20, 20), (150, 30, 30), (40, 60, 150), (200, 160, 40), (120, 120, 120))
# face_shape -> half width, half height of the head (unit square coordinates)
FACE_SHAPES = ((0.30, 0.37), (0.28, 0.40), (0.33, 0.35), (0.31, 0.36))

# attribute -> number of variants; variant 0 of glasses and facial_hair is "none"
STANDIN_ATTRIBUTES = {
    "face_shape": 4,      # round, long, wide, square
    "face_color": len(SKIN_COLORS),
    "hair": 8,            # bald, short, long, bob, afro, side sweep, bun, spiky
    "hair_color": len(HAIR_COLORS),
    "eye_color": len(EYE_COLORS),
    "eyebrow_shape": 4,   # straight, arched, raised outside, raised inside
    "eyebrow_weight": 2,  # thin, thick
    "mouth": 4,           # smile, open smile, flat, round
    "glasses": 4,         # none, round, square, sunglasses
    "glasses_color": len(GLASSES_COLORS),
    "facial_hair": 4,     # none, moustache, beard, goatee
}
_NONE_PROBABILITY = {"glasses": 0.5, "facial_hair": 0.6}  # of variant 0; others uniform


def _darker(color: tuple, factor: float = 0.6) -> tuple:
    """``color`` scaled towards black."""
    return tuple(int(c * factor) for c in color)


def _draw_attributes(rng: np.random.Generator) -> dict[str, int]:
    """One face's variants: uniform, except "none" of glasses and facial hair (more likely)."""
    attributes = {}
    for name, count in STANDIN_ATTRIBUTES.items():
        none = _NONE_PROBABILITY.get(name)
        if none is None:
            attributes[name] = int(rng.integers(count))
        else:
            attributes[name] = 0 if rng.random() < none else int(rng.integers(1, count))
    return attributes


class _Canvas:
    """A white square image drawn in unit coordinates ``[0, 1]^2`` (y pointing down)."""

    def __init__(self, pixels: int):
        self.pixels = pixels
        self.image = Image.new("RGB", (pixels, pixels), WHITE)
        self.draw = ImageDraw.Draw(self.image)

    def box(self, cx: float, cy: float, rx: float, ry: float) -> list[float]:
        """Pixel box of the ellipse of centre ``(cx, cy)`` and half axes ``(rx, ry)``."""
        p = self.pixels
        return [p * (cx - rx), p * (cy - ry), p * (cx + rx), p * (cy + ry)]

    def points(self, *xy: tuple[float, float]) -> list[tuple[float, float]]:
        """Pixel coordinates of unit-square points."""
        return [(self.pixels * x, self.pixels * y) for x, y in xy]

    def width(self, fraction: float) -> int:
        """A line width of ``fraction`` of the side, at least one pixel."""
        return max(1, round(fraction * self.pixels))


class _Face:
    """The geometry of one face: head centre and half axes, eye positions."""

    def __init__(self, attributes: dict[str, int], rng: np.random.Generator):
        scale = rng.uniform(0.93, 1.07)
        rx, ry = FACE_SHAPES[attributes["face_shape"]]
        self.rx, self.ry = rx * scale, ry * scale
        self.cx, self.cy = 0.5 + rng.uniform(-0.02, 0.02), 0.55 + rng.uniform(-0.02, 0.02)
        self.eye_dx = self.rx * rng.uniform(0.34, 0.44)
        self.eye_y = self.cy + self.ry * rng.uniform(-0.08, 0.04)
        self.a = attributes
        self.skin = SKIN_COLORS[attributes["face_color"]]
        self.hair = HAIR_COLORS[attributes["hair_color"]]


def _back_hair(c: _Canvas, f: _Face) -> None:
    """Hair behind the head: long, bob, afro, bun."""
    style = f.a["hair"]
    if style == 2:
        c.draw.rounded_rectangle(c.box(f.cx, f.cy + 0.1 * f.ry, 1.18 * f.rx, 1.12 * f.ry),
                                 radius=c.pixels * f.rx, fill=f.hair)
    elif style == 3:
        c.draw.ellipse(c.box(f.cx, f.cy - 0.1 * f.ry, 1.2 * f.rx, 0.95 * f.ry), fill=f.hair)
    elif style == 4:
        c.draw.ellipse(c.box(f.cx, f.cy - 0.35 * f.ry, 1.5 * f.rx, 1.0 * f.ry), fill=f.hair)
    elif style == 6:
        c.draw.ellipse(c.box(f.cx, f.cy - 1.1 * f.ry, 0.38 * f.rx, 0.3 * f.ry), fill=f.hair)


def _head(c: _Canvas, f: _Face) -> None:
    """Ears, then the head in its shape, outlined."""
    outline, width = _darker(f.skin, 0.75), c.width(0.008)
    for side in (-1, 1):
        c.draw.ellipse(c.box(f.cx + side * f.rx, f.eye_y + 0.1 * f.ry, 0.14 * f.rx, 0.2 * f.ry),
                       fill=f.skin, outline=outline, width=width)
    head = c.box(f.cx, f.cy, f.rx, f.ry)
    if f.a["face_shape"] == 3:
        c.draw.rounded_rectangle(head, radius=0.35 * c.pixels * f.rx, fill=f.skin,
                                 outline=outline, width=width)
    else:
        c.draw.ellipse(head, fill=f.skin, outline=outline, width=width)


def _front_hair(c: _Canvas, f: _Face) -> None:
    """The hair cap over the top of the head and the style's fringe or spikes."""
    style = f.a["hair"]
    if style == 0:
        return
    c.draw.chord(c.box(f.cx, f.cy - 0.3 * f.ry, 1.07 * f.rx, 0.82 * f.ry), 180, 360, fill=f.hair)
    top = f.cy - 1.1 * f.ry
    if style == 3:
        c.draw.rectangle(c.box(f.cx, f.cy - 0.45 * f.ry, 0.85 * f.rx, 0.2 * f.ry), fill=f.hair)
    elif style == 5:
        c.draw.polygon(c.points((f.cx - f.rx, f.cy - 0.3 * f.ry), (f.cx + 0.9 * f.rx, top),
                                (f.cx + 0.6 * f.rx, f.cy - 0.5 * f.ry)), fill=f.hair)
    elif style == 7:
        for k in range(-2, 3):
            x = f.cx + 0.35 * k * f.rx
            c.draw.polygon(c.points((x - 0.2 * f.rx, top + 0.2 * f.ry), (x, top - 0.25 * f.ry),
                                    (x + 0.2 * f.rx, top + 0.2 * f.ry)), fill=f.hair)


def _facial_hair(c: _Canvas, f: _Face, mouth_y: float) -> None:
    """Moustache, beard or goatee, in the hair colour."""
    style = f.a["facial_hair"]
    if style == 2:
        c.draw.chord(c.box(f.cx, f.cy + 0.2 * f.ry, 1.0 * f.rx, 0.8 * f.ry), 0, 180, fill=f.hair)
    if style in (1, 2):
        c.draw.ellipse(c.box(f.cx, mouth_y - 0.13 * f.ry, 0.32 * f.rx, 0.07 * f.ry), fill=f.hair)
    elif style == 3:
        c.draw.ellipse(c.box(f.cx, mouth_y + 0.22 * f.ry, 0.18 * f.rx, 0.14 * f.ry), fill=f.hair)


def _eyes(c: _Canvas, f: _Face) -> None:
    """White eyes with an iris of the eye colour and a pupil, then the eyebrows."""
    iris, line = EYE_COLORS[f.a["eye_color"]], (40, 30, 30)
    brow = _darker(f.hair) if f.a["hair"] else (60, 40, 30)
    brow_width = c.width(0.012 if f.a["eyebrow_weight"] == 0 else 0.026)
    for side in (-1, 1):
        x = f.cx + side * f.eye_dx
        c.draw.ellipse(c.box(x, f.eye_y, 0.17 * f.rx, 0.1 * f.ry), fill=WHITE, outline=line,
                       width=c.width(0.006))
        c.draw.ellipse(c.box(x, f.eye_y, 0.085 * f.rx, 0.085 * f.rx), fill=iris)
        c.draw.ellipse(c.box(x, f.eye_y, 0.04 * f.rx, 0.04 * f.rx), fill=line)
        _eyebrow(c, f, x, side, brow, brow_width)


def _eyebrow(c: _Canvas, f: _Face, x: float, side: int, color: tuple, width: int) -> None:
    """One eyebrow above the eye at ``x`` (``side`` -1 left, +1 right)."""
    y, half = f.eye_y - 0.24 * f.ry, 0.2 * f.rx
    shape = f.a["eyebrow_shape"]
    if shape == 1:
        c.draw.arc(c.box(x, y + 0.06 * f.ry, half, 0.08 * f.ry), 200, 340, fill=color,
                   width=width)
        return
    tilt = {0: 0.0, 2: 0.05, 3: -0.05}[shape] * f.ry
    inner, outer = (x - side * half, y + tilt), (x + side * half, y - tilt)
    c.draw.line(c.points(inner, outer), fill=color, width=width)


def _nose_and_mouth(c: _Canvas, f: _Face, mouth_y: float) -> None:
    """A small nose arc and the mouth of its variant."""
    c.draw.arc(c.box(f.cx, f.cy + 0.22 * f.ry, 0.08 * f.rx, 0.06 * f.ry), 20, 160,
               fill=_darker(f.skin), width=c.width(0.008))
    lips, box = (150, 40, 50), c.box(f.cx, mouth_y - 0.05 * f.ry, 0.3 * f.rx, 0.12 * f.ry)
    style = f.a["mouth"]
    if style == 0:
        c.draw.arc(box, 20, 160, fill=lips, width=c.width(0.012))
    elif style == 1:
        c.draw.chord(box, 0, 180, fill=lips)
    elif style == 2:
        c.draw.line(c.points((f.cx - 0.22 * f.rx, mouth_y), (f.cx + 0.22 * f.rx, mouth_y)),
                    fill=lips, width=c.width(0.012))
    else:
        c.draw.ellipse(c.box(f.cx, mouth_y, 0.09 * f.rx, 0.07 * f.ry), fill=lips)


def _glasses(c: _Canvas, f: _Face) -> None:
    """Round, square or sun glasses over both eyes, with a bridge."""
    style = f.a["glasses"]
    if style == 0:
        return
    color, width = GLASSES_COLORS[f.a["glasses_color"]], c.width(0.01)
    for side in (-1, 1):
        lens = c.box(f.cx + side * f.eye_dx, f.eye_y, 0.27 * f.rx, 0.17 * f.ry)
        if style == 1:
            c.draw.ellipse(lens, outline=color, width=width)
        elif style == 2:
            c.draw.rectangle(lens, outline=color, width=width)
        else:
            c.draw.rounded_rectangle(lens, radius=0.1 * c.pixels * f.rx, fill=_darker(color, 0.4))
    inner = f.eye_dx - 0.27 * f.rx
    c.draw.line(c.points((f.cx - inner, f.eye_y), (f.cx + inner, f.eye_y)), fill=color,
                width=width)


def draw_face(seed: int, index: int, size: int) -> tuple[np.ndarray, dict[str, int]]:
    """Face ``index`` of ``seed``: ``(size, size, 3)`` uint8 RGB image and its attributes."""
    rng = np.random.default_rng((seed, index))
    attributes = _draw_attributes(rng)
    canvas, face = _Canvas(SUPERSAMPLE * size), _Face(attributes, rng)
    mouth_y = face.cy + 0.52 * face.ry
    _back_hair(canvas, face)
    _head(canvas, face)
    _front_hair(canvas, face)
    _facial_hair(canvas, face, mouth_y)
    _eyes(canvas, face)
    _nose_and_mouth(canvas, face, mouth_y)
    _glasses(canvas, face)
    return np.asarray(canvas.image.reduce(SUPERSAMPLE)), attributes


def standin_faces(n: int, size: int = 32,
                  seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``n`` stand-in faces: images ``(n, size * size * 3)`` uint8, attributes (name -> (n,))."""
    images = np.empty((n, size * size * 3), dtype=np.uint8)
    attributes = {name: np.empty(n, dtype=np.int32) for name in STANDIN_ATTRIBUTES}
    for i in range(n):
        image, values = draw_face(seed, i, size)
        images[i] = image.reshape(-1)
        for name, value in values.items():
            attributes[name][i] = value
    return images, attributes
