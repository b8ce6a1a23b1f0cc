"""Draw the shipped bank's diagrams as SVG, byte for byte the same on every run.

The diagrams are content: ``content/media/*.svg``, committed, referenced from
the answers, and checked by the same SVG allow-list as any bank's images.
They are drawn here from code, so a fix is an edit and a ``make diagrams``,
never a hand-edited picture:

* ``ring-allreduce.svg``: four GPUs in a ring, the reduce-scatter and
  all-gather phases and what each GPU sends;
* ``pipeline-bubble.svg``: a GPipe schedule of 4 stages and 8 micro-batches,
  with its idle bubble;
* ``recsys-funnel.svg``: retrieval, ranking and re-ranking, with the number of
  items each stage keeps;
* ``serving-path.svg``: a request's path through admission (a bounded queue
  that sheds load), a dynamic batcher and the model replicas.

Reproducible output: a fixed ``svg.hashsalt`` (the ids matplotlib gives clip
paths), no date or creator in the file, and the parts the bank's SVG allow-list
refuses (the DOCTYPE, ``<metadata>``, the style element's ``type``) left out.
Text stays text: drawn as paths, a diagram costs WeasyPrint seconds per PDF
instead of a tenth of one. It is set in DejaVu Serif (with common fallbacks;
in a PDF, in the Prepdeck Serif that ships with prepdeck, the same on every machine),
like the formulas' serif and unlike the sheets' own sans-serif text, so the
picture's small print is never taken for prepdeck's, and the labels leave
room for a slightly wider font. Nothing is hatched or clipped, for speed too.

    python scripts/diagrams.py --out content/media
"""

from __future__ import annotations

import argparse
import io
import math
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("svg")

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Polygon, Rectangle

ROOT = Path(__file__).resolve().parent.parent

INK = "#1d2733"
MUTED = "#5b6673"
BLUE = "#1f5fa8"
GREEN = "#1e7d4f"
ORANGE = "#b5521b"
RED = "#b3261e"
PALE = {"blue": "#dbe7f5", "green": "#d8efe3", "orange": "#f6e0d3", "grey": "#eceff2", "red": "#f7dcda"}

STYLE = {
    "svg.hashsalt": "prepdeck",
    "svg.fonttype": "none",
    "font.family": "DejaVu Serif",
    "font.size": 9,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "path.simplify": False,
}
#: Every figure is this wide (inches); heights vary. At 72 pt per inch.
WIDTH_IN = 7.2


def _canvas(height_in: float, width: float = 100.0, height: float | None = None):
    """Return a figure and an axis in a coordinate system ``width`` wide, with no frame."""
    figure = plt.figure(figsize=(WIDTH_IN, height_in))
    axis = figure.add_axes((0, 0, 1, 1))
    axis.set_xlim(0, width)
    axis.set_ylim(0, height if height is not None else width * height_in / WIDTH_IN)
    axis.set_axis_off()
    return figure, axis


def _box(axis, x, y, w, h, text, fill, edge, size=9, weight="normal", colour=INK):
    axis.add_patch(
        FancyBboxPatch(
            (x, y), w, h, boxstyle="round,pad=0,rounding_size=1.2", facecolor=fill, edgecolor=edge, lw=1.2
        )
    )
    axis.text(
        x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size, weight=weight, color=colour
    )


def _arrow(axis, start, end, colour=INK, style="-|>", lw=1.3, rad=0.0, dashed=False, shrink=0.0):
    axis.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle=style,
            mutation_scale=11,
            color=colour,
            lw=lw,
            linestyle="--" if dashed else "-",
            connectionstyle=f"arc3,rad={rad}",
            shrinkA=shrink,
            shrinkB=shrink,
        )
    )


def ring_allreduce():
    """Four GPUs in a ring; each sends to the next, 2(N−1) steps of M/N bytes."""
    figure, axis = _canvas(2.5)
    height = 100 * 2.5 / WIDTH_IN
    centre, radius = (21.0, height / 2), 11.0
    gpus = 4
    places = []
    for rank in range(gpus):
        angle = math.pi / 2 - rank * 2 * math.pi / gpus
        places.append((centre[0] + radius * math.cos(angle), centre[1] + radius * math.sin(angle)))
    for rank in range(gpus):
        here, there = places[rank], places[(rank + 1) % gpus]
        _arrow(axis, here, there, colour=BLUE, rad=-0.32, lw=1.6, shrink=19)
    for rank, (x, y) in enumerate(places):
        axis.add_patch(
            FancyBboxPatch(
                (x - 5, y - 3.2),
                10,
                6.4,
                boxstyle="round,pad=0,rounding_size=1.2",
                facecolor="white",
                edgecolor=BLUE,
                lw=1.4,
            )
        )
        axis.text(x, y + 1.1, f"GPU {rank}", ha="center", va="center", fontsize=8.5, weight="bold", color=INK)
        for chunk in range(gpus):  # its gradient, cut into N chunks
            colour = BLUE if chunk == rank else PALE["blue"]
            axis.add_patch(Rectangle((x - 4 + chunk * 2, y - 2.4), 1.8, 1.6, facecolor=colour, lw=0))
    axis.text(centre[0], centre[1], "ring", ha="center", va="center", fontsize=8, color=MUTED)
    left = 41.0
    axis.text(
        left, height - 5, "Ring all-reduce of M bytes over N GPUs", fontsize=10.5, weight="bold", color=INK
    )
    lines = [
        ("1. Reduce-scatter", "N−1 steps: each GPU sends one chunk (M/N bytes) to", BLUE),
        ("", "the next and adds the chunk it receives; each GPU", None),
        ("", "then holds the full sum of one chunk.", None),
        ("2. All-gather", "N−1 more steps pass the summed chunks around the", GREEN),
        ("", "ring until every GPU has all of them.", None),
    ]
    y = height - 11.0
    for title, text, colour in lines:
        if title:
            axis.text(left, y, title, fontsize=9, weight="bold", color=colour)
            y -= 2.9
        axis.text(left + 2, y, text, fontsize=8.5, color=INK)
        y -= 2.7
    axis.text(
        left,
        3.0,
        "Each GPU sends 2(N−1)/N · M bytes in all (under 2M)",
        fontsize=9,
        weight="bold",
        color=INK,
    )
    return figure


def pipeline_bubble():
    """GPipe: 4 stages, 8 micro-batches forward then backward; the idle cells are the bubble."""
    stages, micro = 4, 8
    slots = 2 * (micro + stages - 1)
    figure, axis = _canvas(2.7)
    height = 100 * 2.7 / WIDTH_IN
    left, top, cell_w, cell_h = 12.0, height - 7.0, 88.0 / slots, 4.2
    axis.text(
        0,
        height - 3.6,
        "Pipeline schedule (GPipe): p = 4 stages, m = 8 micro-batches",
        fontsize=10.5,
        weight="bold",
        color=INK,
    )
    for stage in range(stages):
        y = top - (stage + 1) * cell_h - stage * 0.7
        axis.text(
            left - 1.2, y + cell_h / 2, f"stage {stage + 1}", ha="right", va="center", fontsize=8.5, color=INK
        )
        busy = {}
        for m in range(micro):
            busy[stage + m] = ("F", m + 1)
            busy[(micro + stages - 1) + (stages - 1 - stage) + m] = ("B", micro - m)
        # The stage's whole row is idle underneath; the busy cells are drawn over it.
        axis.add_patch(Rectangle((left, y), slots * cell_w, cell_h, facecolor=PALE["red"], lw=0))
        for slot in range(slots):
            x = left + slot * cell_w
            kind = busy.get(slot)
            if kind is None:
                continue
            phase, number = kind
            fill = PALE["blue"] if phase == "F" else PALE["green"]
            edge = BLUE if phase == "F" else GREEN
            axis.add_patch(Rectangle((x, y), cell_w, cell_h, facecolor=fill, edgecolor=edge, lw=0.8))
            axis.text(
                x + cell_w / 2,
                y + cell_h / 2,
                f"{phase}{number}",
                ha="center",
                va="center",
                fontsize=6.5,
                color=INK,
            )
    bottom = top - stages * (cell_h + 0.7)
    _arrow(axis, (left, bottom - 1.2), (left + slots * cell_w, bottom - 1.2), colour=MUTED, lw=1.0)
    axis.text(left + slots * cell_w, bottom - 2.2, "time", ha="right", va="top", fontsize=8, color=MUTED)
    legend = [(PALE["blue"], BLUE, "forward"), (PALE["green"], GREEN, "backward"), (PALE["red"], RED, "idle")]
    x = left
    for fill, edge, label in legend:
        axis.add_patch(
            Rectangle(
                (x, 1.6),
                3.0,
                2.6,
                facecolor=fill,
                edgecolor=edge,
                lw=0.8,
            )
        )
        axis.text(x + 4.0, 2.9, label, va="center", fontsize=8, color=INK)
        x += 13.5
    axis.text(
        100,
        2.9,
        "idle share per stage = (p−1)/(m+p−1) = 3/11 ≈ 27%",
        ha="right",
        va="center",
        fontsize=8.5,
        weight="bold",
        color=INK,
    )
    return figure


def recsys_funnel():
    """Retrieval, ranking and re-ranking, narrowing millions of items to the ten shown."""
    figure, axis = _canvas(2.5)
    height = 100 * 2.5 / WIDTH_IN
    stages = [
        ("corpus", "10M items", "", PALE["grey"], MUTED),
        (
            "retrieval",
            "~1,000",
            "two-tower embeddings + ANN index,\nco-visitation, popular items",
            PALE["blue"],
            BLUE,
        ),
        ("ranking", "~100", "learned ranker on rich user, item\nand context features", PALE["green"], GREEN),
        ("re-ranking", "10 shown", "diversity, freshness,\nbusiness rules", PALE["orange"], ORANGE),
    ]
    row_h, gap = 6.6, 1.2
    widths = [52.0, 44.0, 36.0, 29.0]
    centre = 27.0
    y = height - 2.0
    for (name, count, note, fill, edge), width, below in zip(
        stages, widths, [*widths[1:], 22.0], strict=True
    ):
        y -= row_h
        corners = [
            (centre - width / 2, y + row_h),
            (centre + width / 2, y + row_h),
            (centre + below / 2, y),
            (centre - below / 2, y),
        ]
        axis.add_patch(Polygon(corners, closed=True, facecolor=fill, edgecolor=edge, lw=1.2))
        axis.text(
            centre,
            y + row_h / 2,
            f"{name}: {count}",
            ha="center",
            va="center",
            fontsize=8.5,
            weight="bold",
            color=INK,
        )
        if note:
            axis.text(59.0, y + row_h / 2, note, va="center", fontsize=8, color=INK, linespacing=1.15)
            _arrow(
                axis,
                (centre + width / 2 + 1.0, y + row_h / 2),
                (58.0, y + row_h / 2),
                colour=edge,
                style="-",
                lw=0.9,
                dashed=True,
            )
        y -= gap
    axis.text(
        100, height - 5.0, "cheap per item, huge recall", ha="right", fontsize=8, color=MUTED, style="italic"
    )
    axis.text(100, 2.0, "costly per item, precise order", ha="right", fontsize=8, color=MUTED, style="italic")
    return figure


def serving_path():
    """A request through admission control, a dynamic batcher and the replicas, or shed."""
    figure, axis = _canvas(2.4)
    mid = 17.5
    boxes = [
        (0.5, "clients", PALE["grey"], MUTED),
        (17.5, "load\nbalancer", PALE["grey"], MUTED),
        (34.5, "bounded queue\n(admission)", PALE["orange"], ORANGE),
        (55.0, "dynamic batcher\nmax batch, max wait", PALE["blue"], BLUE),
        (80.0, "model\nreplicas", PALE["green"], GREEN),
    ]
    widths = [13.0, 13.0, 17.0, 21.0, 16.5]
    for (x, text, fill, edge), width in zip(boxes, widths, strict=True):
        _box(axis, x, mid - 5.0, width, 10.0, text, fill, edge, size=8.2)
    for (x, *_), width, (next_x, *_) in zip(boxes, widths, boxes[1:], strict=False):
        _arrow(axis, (x + width + 0.3, mid), (next_x - 0.3, mid))
    _arrow(axis, (80.0 + 8.25, mid + 5.2), (7.0, mid + 5.2), colour=GREEN, rad=0.12, lw=1.1)
    axis.text(47.0, 28.6, "response", ha="center", va="bottom", fontsize=8, color=GREEN)
    shed_y = 3.0
    _box(axis, 30.5, shed_y - 1.0, 25.0, 6.4, "shed: 429 or fallback", PALE["red"], RED, size=8.2)
    _arrow(axis, (43.0, mid - 5.2), (43.0, shed_y + 5.6), colour=RED)
    axis.text(
        44.2,
        (mid - 5.2 + shed_y + 5.6) / 2,
        "queue full or\ndeadline passed",
        va="center",
        fontsize=7.5,
        color=RED,
        linespacing=1.1,
    )
    _box(axis, 66.0, shed_y - 1.0, 33.5, 6.4, "autoscale on queue depth, p99", PALE["grey"], MUTED, size=8.0)
    _arrow(axis, (85.0, shed_y + 5.6), (85.0, mid - 5.2), colour=MUTED, dashed=True, lw=1.0)
    return figure


DIAGRAMS = {
    "ring-allreduce.svg": ring_allreduce,
    "pipeline-bubble.svg": pipeline_bubble,
    "recsys-funnel.svg": recsys_funnel,
    "serving-path.svg": serving_path,
}

# What matplotlib writes that a bank's SVG may not hold: a DOCTYPE, RDF metadata, <style type>.
_DOCTYPE = re.compile(r"<!DOCTYPE[^>]*>\s*")
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_STYLE_TYPE = re.compile(r'<style type="text/css">')
_FONT = re.compile(r"font-family: 'DejaVu Serif'; ?")
# Prepdeck Serif ships with prepdeck (templates/css/fonts.css): a sheet draws the labels
# with it, the same on every machine; a browser, which lacks it, with DejaVu Serif. No
# spaces after the commas: WeasyPrint's SVG text keeps them in the family names it reads.
# Set once for every text, in the style element, rather than on each.
FONT_FAMILY = "'Prepdeck Serif','Prepdeck Serif Symbols','DejaVu Serif',Georgia,serif"
_STYLE = re.compile(r"<style>(.*?)</style>", re.S)
# Smaller files, the same picture: coordinates to 0.01 pt, one element a line, no indentation.
_DECIMALS = re.compile(r"(?<![\d.])[1-9]\d*\.\d{3,}")  # not scale factors, below 1
_TAG = re.compile(r"<[^>]*>")
_BETWEEN = re.compile(r">\s+<")
_NO_ROTATION = re.compile(r' transform="rotate\(-?0 [-\d.]+ [-\d.]+\)"')
# A group with nothing but an id around one element (matplotlib wraps each artist so): the element.
_LONE = re.compile(r'<g id="[^"]*">\n(<(\w+)\b[^>]*?(?:/>|>[^<]*</\2>))\n</g>')
_PATH_DATA = re.compile(r'\bd="([^"]*)"')
_COMMAND_SPACE = re.compile(r"\s*([A-Za-z])\s*")
_STYLE_ATTRIBUTE = re.compile(r'\bstyle="([^"]*)"')


def svg_bytes(figure) -> bytes:
    """Return the figure as SVG that passes the bank's allow-list, the same bytes every run."""
    for axis in figure.axes:  # every shape lies inside the canvas: no clip paths to draw
        for artist in axis.get_children():
            artist.set_clip_on(False)
    buffer = io.StringIO()
    figure.savefig(
        buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None}
    )
    plt.close(figure)
    text = buffer.getvalue()
    text = _DOCTYPE.sub("", text)
    text = _METADATA.sub("", text)
    text = _STYLE_TYPE.sub("<style>", text)
    text = _FONT.sub("", text)
    fonts = f"text{{font-family:{FONT_FAMILY}}}"
    text = _STYLE.sub(lambda m: f"<style>{m.group(1)}{fonts}</style>", text, count=1)
    text = _DECIMALS.sub(lambda m: f"{round(float(m.group(0)), 2):g}", text)
    text = _TAG.sub(lambda m: re.sub(r"\s+", " ", m.group(0)), text)
    text = _BETWEEN.sub(">\n<", text)
    return _shorter(text).encode("utf-8")


def _shorter(text: str) -> str:
    """Return matplotlib's SVG without what draws nothing: the same picture in fewer bytes.

    Every page and card that shows a diagram loads it, so its bytes count: the
    no-op ``rotate(-0 …)`` on each label, the group around each single artist,
    and the spaces in path data and style declarations that no parser needs.
    """
    text = _NO_ROTATION.sub("", text)
    while True:
        unwrapped = _LONE.sub(lambda m: m.group(1), text)
        if unwrapped == text:
            break
        text = unwrapped
    text = _PATH_DATA.sub(lambda m: 'd="' + _COMMAND_SPACE.sub(r"\1", m.group(1)).strip() + '"', text)
    return _STYLE_ATTRIBUTE.sub(
        lambda m: 'style="' + re.sub(r"\s*([:;])\s*", r"\1", m.group(1)).strip(";") + '"', text
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "content" / "media", help="where the SVGs go")
    parser.add_argument("names", nargs="*", help="diagrams to draw (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(DIAGRAMS))
    if unknown:
        parser.error(f"unknown diagram {', '.join(unknown)}; choose from {', '.join(DIAGRAMS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    with plt.rc_context(STYLE):
        for name, draw in DIAGRAMS.items():
            if args.names and name not in args.names:
                continue
            data = svg_bytes(draw())
            path = args.out / name
            path.write_bytes(data)
            print(f"{path} ({len(data) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
