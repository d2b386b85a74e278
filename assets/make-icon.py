#!/usr/bin/env python3
"""Draws assets/AppIcon.png, the app icon of VoriPOS Domain Sync (1024x1024 RGBA).

A rounded square in green, lit from the top, with two white arrows chasing each other
round a circle ("sync"). Standard library only: shapes are signed distance functions,
anti-aliased by coverage, and the PNG is written with zlib and struct.

Usage: python3 assets/make-icon.py [OUT]   (OUT defaults to assets/AppIcon.png)
"""

import math
import struct
import sys
import zlib
from pathlib import Path

SIZE = 1024
# macOS icon grid: an 824 px body centred in the canvas, corner radius about 185 px.
BODY_HALF = 412
BODY_RADIUS = 185
TOP = (0x3D, 0xC9, 0x7E)     # green, lighter at the top
BOTTOM = (0x16, 0x8A, 0x52)  # and deeper at the bottom
WHITE = (0xFF, 0xFF, 0xFF)

RING = 232        # radius of the arrows' circle
STROKE = 76       # arrow shaft width
HEAD_WIDTH = 196  # arrowhead base, across the shaft
HEAD_LENGTH = 120  # arrowhead, along the shaft
# Each arrow runs clockwise from its tail angle to its head angle (degrees, y up).
ARROWS = [(165, 38), (345, 218)]


def rounded_square(x, y):
    qx = abs(x) - (BODY_HALF - BODY_RADIUS)
    qy = abs(y) - (BODY_HALF - BODY_RADIUS)
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return outside + min(max(qx, qy), 0.0) - BODY_RADIUS


def on_ring(degrees):
    a = math.radians(degrees)
    return RING * math.cos(a), RING * math.sin(a)


def arc(x, y, tail, head):
    """Distance to a stroke along the ring, clockwise from `tail` down to `head` degrees."""
    angle = math.degrees(math.atan2(y, x)) % 360
    if (tail - angle) % 360 <= (tail - head) % 360:
        return abs(math.hypot(x, y) - RING) - STROKE / 2
    tx, ty = on_ring(tail)
    hx, hy = on_ring(head)
    return min(math.hypot(x - tx, y - ty), math.hypot(x - hx, y - hy)) - STROKE / 2


def triangle(x, y, a, b, c):
    """Signed distance to triangle abc (negative inside)."""
    distance = float("inf")
    signs = []
    for (ax, ay), (bx, by) in ((a, b), (b, c), (c, a)):
        ex, ey = bx - ax, by - ay
        px, py = x - ax, y - ay
        t = max(0.0, min(1.0, (px * ex + py * ey) / (ex * ex + ey * ey)))
        distance = min(distance, math.hypot(px - ex * t, py - ey * t))
        signs.append(ex * py - ey * px)
    inside = all(s >= 0 for s in signs) or all(s <= 0 for s in signs)
    return -distance if inside else distance


def arrowhead(head):
    """The triangle at `head`, its tip further clockwise on the ring."""
    a = math.radians(head)
    px, py = on_ring(head)
    rx, ry = math.cos(a), math.sin(a)  # outward
    w = HEAD_WIDTH / 2
    tip = on_ring(head - math.degrees(HEAD_LENGTH / RING))
    return ((px + rx * w, py + ry * w), (px - rx * w, py - ry * w), tip)


def coverage(distance):
    return max(0.0, min(1.0, 0.5 - distance))


def blend(under, over, alpha):
    return tuple(u + (o - u) * alpha for u, o in zip(under, over))


def pixels():
    heads = [arrowhead(head) for _, head in ARROWS]
    for row in range(SIZE):
        y = SIZE / 2 - (row + 0.5)
        base = blend(TOP, BOTTOM, row / (SIZE - 1))
        line = bytearray()
        for col in range(SIZE):
            x = col + 0.5 - SIZE / 2
            body = coverage(rounded_square(x, y))
            if body == 0.0:
                line += b"\0\0\0\0"
                continue
            glyph = 0.0
            if abs(math.hypot(x, y) - RING) < HEAD_WIDTH / 2 + 2:
                d = min(min(arc(x, y, t, h) for t, h in ARROWS),
                        min(triangle(x, y, *tri) for tri in heads))
                glyph = coverage(d)
            r, g, b = blend(base, WHITE, glyph)
            line += bytes((round(r), round(g), round(b), round(body * 255)))
        yield bytes(line)


def png(rows):
    """PNG bytes: 8-bit RGBA, each row with the Up filter (the gradient is vertical)."""
    raw = bytearray()
    above = bytes(SIZE * 4)
    for line in rows:
        raw.append(2)
        raw += bytes((c - a) & 0xFF for c, a in zip(line, above))
        above = line

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("AppIcon.png")
    out.write_bytes(png(pixels()))
    print(f"make-icon: wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
