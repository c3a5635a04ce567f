"""The programme as data: parts, sections and pledges.

Plain frozen dataclasses with no behaviour beyond lookups; `corpus.parse` builds them.

Parts, sections and pledges each have an id of their own (the programme page's anchors). A
pledge names its section and part both by title (what a voter reads) and by id (what links
and lookups use): two sections may share a title, never an id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class Pledge:
    """One bullet after "Vi vil:", quoted verbatim, with its citation.

    `part` and `section` are titles, for showing; `part_id` and `section_id` are the ids of
    that part and section, for linking and looking up.
    """

    id: str
    part: str
    section: str
    number: int
    page: int
    text: str
    section_id: str = ""
    part_id: str = ""

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "part": self.part,
            "part_id": self.part_id,
            "section": self.section,
            "section_id": self.section_id,
            "number": self.number,
            "page": self.page,
            "text": self.text,
        }


@dataclass(frozen=True)
class Section:
    """A heading such as "Oslofjorden", its introductory paragraphs and its pledges."""

    id: str
    title: str
    part: str  # the part's title
    part_id: str
    page: int
    intro: tuple[str, ...]
    pledges: tuple[Pledge, ...]


@dataclass(frozen=True)
class Part:
    """A chapter such as "Et bærekraftig Bærum"."""

    id: str
    title: str
    page: int
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Programme:
    """The whole programme. `warnings` name the source lines the parser had to guess about;
    `repairs` the lines where it mended damage from the PDF extraction. `aliases` are ids from
    earlier editions that no pledge or section has any more, each with the id of the pledge or
    section its links land on ("" for the top of the programme); `corpus.ids` sets them."""

    foreword: tuple[str, ...]
    parts: tuple[Part, ...]
    warnings: tuple[str, ...] = field(default=(), compare=False)
    repairs: tuple[str, ...] = field(default=(), compare=False)
    aliases: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @cached_property
    def sections(self) -> tuple[Section, ...]:
        return tuple(s for p in self.parts for s in p.sections)

    @cached_property
    def pledges(self) -> tuple[Pledge, ...]:
        return tuple(pl for s in self.sections for pl in s.pledges)

    @cached_property
    def by_id(self) -> dict[str, Pledge]:
        return {p.id: p for p in self.pledges}

    @cached_property
    def landing(self) -> dict[str, str]:
        """Old id -> the pledge or section id its links land on ("" for the top)."""
        return dict(self.aliases)

    @cached_property
    def sections_by_id(self) -> dict[str, Section]:
        return {s.id: s for s in self.sections}
