"""Teaching mode's notes, without Streamlit: a short note per chart of the page
(shown collapsed under the chart it explains), each ending with links to the
docs/model.md sections it rests on; the orders chart's note says, from the session
itself, why orders stop when a product sells out.
"""

from __future__ import annotations

from typing import Any

from livesim.app import logic as L

#: Per chart: (the expander's title, the note, the docs/model.md sections).
CHART_NOTES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "concurrent": (
        "Why the audience rises and falls",
        "Viewers in the room at each minute: arrivals minus those who have left. "
        "Each viewer stays a random dwell time (lognormal, host-dependent), so the "
        "mean audience is about arrivals per minute times the mean watch time "
        "(Little's law).",
        ("2", "3"),
    ),
    "arrivals": (
        "Where viewers come from",
        "Followers reached arrive on the host's time profile; the platform "
        "recommends the stream more when it draws comments and GMV per view (the "
        "feedback loop); shares bring word-of-mouth viewers after a delay; viewers of "
        "an earlier stream come back as carry-over with higher intent.",
        ("2",),
    ),
    "orders": (
        "Why orders rise, and why they stop",
        "A viewer buys the product featured at the moment, at a hazard that grows "
        "with intent, trust, the discount and the countdown of a promotion, and "
        "scarcity as stock runs low. Stock is shared by the campaign's streams: once "
        "a product has sold out, a purchase of it is a **lost sale** (dashed red "
        "rule: sold out), so orders stop while it is featured, however strong the "
        "demand. The live session runs this stream with the streams before it "
        "only; streams running at the same time also draw on the stock in the full "
        "campaign, so there a product can sell out sooner.",
        ("3",),
    ),
    "journeys": (
        "How to read a journey",
        "Each row is one viewer, from arriving (its source) to leaving (grey bar): "
        "likes, comments, clicks and shares (grey), questions at the Q&A desk and "
        "whether they were answered or given up, and an order, a lost sale (the "
        "stock was empty) or a delayed order after the stream.",
        ("3",),
    ),
    "trust": (
        "How trust moves",
        "Trust grows from the host's initial trust toward its ceiling at the "
        "trust-building rate; an answered question closes part of the gap, a "
        "question given up widens it. The event log does not record trust: this "
        "curve is the model's, rebuilt from the viewer's logged answers.",
        ("3",),
    ),
}


def reference(section: str) -> str:
    """A link to a docs/model.md section (repository-relative)."""
    return f"([docs/model.md §{section}]({L.section_link(section)}))"


def chart_note(name: str, extra: str = "") -> tuple[str, str]:
    """The title and markdown of a chart's note, `extra` after its text."""
    title, text, sections = CHART_NOTES[name]
    links = " ".join(reference(s) for s in sections)
    return title, " ".join(p for p in (text, extra, links) if p)


def funnel_note() -> tuple[str, str]:
    """The funnel chart's note: one sentence per stage."""
    lines = [
        f"- **{stage}**: {sentence} {reference(section)}"
        for stage, (sentence, section) in L.STAGE_HELP.items()
    ]
    intro = (
        "A viewer is **reached**, may **enter** the room, **engage**, **click** a "
        "product and **order**; an order is **kept** unless returned. The chart shows "
        "the stages of the stream's visits filled so far (reached and kept are "
        "counted in the what-if)."
    )
    return "What the funnel's stages count", "\n".join([intro, "", *lines])


def soldout_story(session: L.Session) -> str:
    """Why orders stop in this session: each stock-out and the promotion it fell
    in, if any ('' when nothing sold out)."""
    parts = []
    for out in session.stockouts:
        sale = next(
            (
                p
                for p in session.promotions
                if p["start"] <= max(out.minute, 0.0) < p["end"]
            ),
            None,
        )
        during = (
            f", during the {p_label(sale)}: while it is featured, every purchase "
            "the sale brings is a lost sale, so orders stop"
            if sale
            else ""
        )
        parts.append(f"Here the {out.sentence()}{during}.")
    return " ".join(parts)


def p_label(promotion: dict[str, Any]) -> str:
    """'−20% all products sale (minutes 30-45)'."""
    return (
        f"{promotion['label']} sale (minutes {promotion['start']:g}-"
        f"{promotion['end']:g})"
    )


def parameter_notes(controls: list[L.Control]) -> list[str]:
    """One line per slider kind: what it does, with its section."""
    seen: set[str] = set()
    lines = []
    for control in controls:
        short = control.key.partition(".")[2]
        short = {"start": "promotion_start", "scale": "stock"}.get(short, short)
        if short in seen:
            continue
        seen.add(short)
        sentence, section = L.PARAMETER_HELP[short]
        label = control.label.split(" (")[0]
        lines.append(f"- **{label}**: {sentence} {reference(section)}")
    return lines


def model_sections() -> list[str]:
    """The docs/model.md sections the notes cite, in order."""
    used = {s for _, s in L.STAGE_HELP.values()}
    used |= {s for _, s in L.PARAMETER_HELP.values()}
    used |= {s for _, _, sections in CHART_NOTES.values() for s in sections}
    return sorted(used, key=int)
