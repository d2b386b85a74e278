#!/usr/bin/env python3
"""Draws the menu-bar icons of VoriPOS Domain Sync into assets/icons/.

One icon per state family. The calm states show the database cylinder; the trouble
states have shapes of their own, so that they stand out at menu-bar size:

    ok       the cylinder, a check mark in a round badge      (up to date)
    syncing  the cylinder, two arrows chasing round a circle  (syncing, starting)
    stale    a clock face filling the icon                    (stale)
    error    a warning triangle with "!" filling the icon, red (error)
    off      the cylinder in outline only, struck through     (not configured, Docker down)

All but error are macOS template images: black shapes on a transparent background, of
which only the alpha channel matters (the menu bar tints them for light and dark mode).
Error is drawn red and shown as it is (not as a template), the one coloured icon. Each
is written at 18x18 (`tray-<kind>.png`) and 36x36 (`tray-<kind>@2x.png`).

Shapes are drawn in an 18x18 unit grid and rendered by supersampling (coverage of
SAMPLES x SAMPLES points per pixel); the PNGs are written with zlib and struct only.

Usage: python3 assets/icons/make-icons.py [OUT_DIR]   (defaults to this script's folder)
"""

import math
import struct
import sys
import zlib
from pathlib import Path

UNITS = 18
SAMPLES = 6

# The cylinder: centre x, half width, top and bottom ellipse centres, ellipse half height.
CX, HALF_W = 6.5, 5.5
TOP, BOTTOM, RY = 3.5, 14.5, 2.0
RIM = 1.0          # the gaps drawn between the cylinder's bands
BANDS = (TOP, 8.5)  # lower arcs of these ellipses are cut out of the filled body
# The badge, bottom right, and the gap cleared around it.
BX, BY, BR = 13.5, 13.5, 4.25
GAP = 1.1


def ellipse(x, y, cy):
    return ((x - CX) / HALF_W) ** 2 + ((y - cy) / RY) ** 2 <= 1.0


def cylinder(x, y):
    return (abs(x - CX) <= HALF_W and TOP <= y <= BOTTOM) or ellipse(x, y, TOP) or ellipse(x, y, BOTTOM)


def lower_arc(x, y, cy, width):
    """The lower half of the cylinder's ellipse at `cy`, as a stroke `width` thick."""
    if y < cy or abs(x - CX) > HALF_W:
        return False
    inner = ((x - CX) / (HALF_W)) ** 2 + ((y - cy) / RY) ** 2
    outer = ((x - CX) / (HALF_W)) ** 2 + ((y - cy) / (RY + width)) ** 2
    return inner > 1.0 and outer <= 1.0


def filled_cylinder(x, y):
    return cylinder(x, y) and not any(lower_arc(x, y, cy, RIM) for cy in BANDS)


def disc(x, y, cx, cy, r):
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def segment(x, y, ax, ay, bx, by, width):
    ex, ey = bx - ax, by - ay
    t = max(0.0, min(1.0, ((x - ax) * ex + (y - ay) * ey) / (ex * ex + ey * ey)))
    return math.hypot(x - ax - ex * t, y - ay - ey * t) <= width / 2


def polyline(x, y, points, width):
    return any(segment(x, y, *a, *b, width) for a, b in zip(points, points[1:]))


def triangle(x, y, a, b, c):
    def side(p, q):
        return (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])
    s = (side(a, b), side(b, c), side(c, a))
    return all(v >= 0 for v in s) or all(v <= 0 for v in s)


def check(x, y):
    return polyline(x, y, [(11.3, 13.7), (12.9, 15.3), (15.7, 11.9)], 1.35)


def arrows(x, y):
    """Two arrows round the badge's circle, each a 130° arc with a head (clockwise)."""
    r = BR - 1.0
    angle = math.degrees(math.atan2(y - BY, x - BX)) % 360  # y down: clockwise
    for start in (200, 20):
        end = start + 115
        on_arc = (angle - start) % 360 <= (end - start)
        if on_arc and abs(math.hypot(x - BX, y - BY) - r) <= 0.7:
            return True
        a = math.radians(end)
        ox, oy = math.cos(a), math.sin(a)      # outward
        tx, ty = -math.sin(a), math.cos(a)     # along the arc, clockwise
        px, py = BX + r * ox, BY + r * oy
        w, l = 1.8, 2.1
        if triangle(x, y, (px + ox * w, py + oy * w), (px - ox * w, py - oy * w), (px + tx * l, py + ty * l)):
            return True
    return False


def with_badge(symbol, ring=False):
    """The filled cylinder, cleared around the badge; the badge a disc with `symbol`
    cut out, or (ring=True) just `symbol`."""
    def shape(x, y):
        if disc(x, y, BX, BY, BR):
            return symbol(x, y) if ring else not symbol(x, y)
        if disc(x, y, BX, BY, BR + GAP):
            return False
        return filled_cylinder(x, y)
    return shape


def outlined_cylinder(x, y):
    """The cylinder's outline (STROKE wide inside its edge) and the top's lower arc."""
    if not cylinder(x, y):
        return False
    d = STROKE
    around = ((d, 0), (-d, 0), (0, d), (0, -d), (d * 0.7, d * 0.7), (-d * 0.7, d * 0.7),
              (d * 0.7, -d * 0.7), (-d * 0.7, -d * 0.7))
    edge = not all(cylinder(x + dx, y + dy) for dx, dy in around)
    return edge or lower_arc(x, y - STROKE, TOP, STROKE)


def struck_through(x, y):
    a, b = (1.0, 1.5), (17.0, 16.5)
    if segment(x, y, *a, *b, 1.5):
        return True
    if segment(x, y, *a, *b, 1.5 + 2 * GAP):
        return False
    return outlined_cylinder(x, y)


def clock_face(x, y):
    """A clock filling the icon: a disc with its hands (at three o'clock) cut out."""
    if not disc(x, y, 9, 9, 8.4):
        return False
    hands = segment(x, y, 9, 9, 9, 3.6, 1.8) or segment(x, y, 9, 9, 12.9, 9, 1.8)
    return not hands


def warning(x, y):
    """A warning triangle filling the icon, with "!" cut out."""
    if not triangle(x, y, (9, 0.6), (17.6, 16.6), (0.4, 16.6)):
        return False
    mark = segment(x, y, 9, 6.2, 9, 10.9, 2.1) or disc(x, y, 9, 13.7, 1.2)
    return not mark


STROKE = 1.4

ICONS = {
    "ok": with_badge(check),
    "syncing": with_badge(arrows, ring=True),
    "stale": clock_face,
    "error": warning,
    "off": struck_through,
}

# The colour of each icon's shape (RGB); template icons are black.
RED = (0xD7, 0x26, 0x1E)
COLOURS = {"error": RED}


def render(shape, size, colour=(0, 0, 0)):
    scale = size / UNITS
    rows = []
    for py in range(size):
        row = bytearray([0])  # filter: none
        for px in range(size):
            hits = 0
            for i in range(SAMPLES):
                for j in range(SAMPLES):
                    x = (px + (i + 0.5) / SAMPLES) / scale
                    y = (py + (j + 0.5) / SAMPLES) / scale
                    hits += shape(x, y)
            row += bytes((*colour, round(255 * hits / SAMPLES ** 2)))
        rows.append(bytes(row))
    return b"".join(rows)


def png(size, raw):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    for kind, shape in ICONS.items():
        for size, suffix in ((18, ""), (36, "@2x")):
            path = out / f"tray-{kind}{suffix}.png"
            colour = COLOURS.get(kind, (0, 0, 0))
            path.write_bytes(png(size, render(shape, size, colour)))
            print(path)


if __name__ == "__main__":
    main()
