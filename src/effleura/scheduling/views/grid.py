"""Laying appointments out on the calendar grid: rows of 15 minutes, one column per
practitioner, room or day. Pure presentation: takes rows already fetched, returns plain
values for the templates, and never touches the database.

Grid lines are CSS grid lines: row 1 is the header, so the first time row is line 2;
column 1 is the time gutter, so the first column is line 2.
"""

import datetime
import math
from dataclasses import dataclass, field

ROW_MINUTES = 15
# When a location has no opening hours that day (closed, or not set up yet) and no
# appointments, show an ordinary working day rather than an empty grid.
DEFAULT_DAY = (datetime.time(8, 0), datetime.time(18, 0))


@dataclass
class Cell:
    """An empty 15-minute cell: a link to book there, unless it is changeover time."""

    row: int  # grid line
    start: datetime.datetime  # aware, in the column's zone
    working: bool = True  # inside the column's working hours (shaded otherwise)
    changeover: bool = False  # the room or practitioner is turning over after a visit
    # The local start as a datetime-local input wants it (the booking form's ?start=),
    # written once per row for all the columns of the same day and zone.
    value: str = ""

    @property
    def label(self) -> str:
        return self.value[11:]


@dataclass
class Block:
    """One appointment placed on the grid."""

    appointment: object
    row: int  # grid line of its first row
    span: int  # rows it covers (at least one)
    start: datetime.datetime  # local
    end: datetime.datetime  # local
    lane: int = 0  # side by side when two blocks in one column overlap (e.g. "no room")
    lanes: int = 1
    draggable: bool = False

    @property
    def start_label(self) -> str:
        return self.start.strftime("%H:%M")

    @property
    def end_label(self) -> str:
        return self.end.strftime("%H:%M")

    @property
    def left_percent(self) -> float:
        return round(100 * self.lane / self.lanes, 3)

    @property
    def width_percent(self) -> float:
        return round(100 / self.lanes, 3)


@dataclass
class Column:
    """A practitioner, a room or a day; ``query`` prefills the booking form."""

    key: str
    label: str
    day: datetime.date
    tz: datetime.tzinfo
    query: str = ""  # urlencoded booking-form parameters (location, practitioner or room)
    href: str = ""  # where the column heading links (a practitioner's week, a day)
    # Minutes from local midnight when the column is available (working hours); None
    # means "no pattern to show" (rooms), so nothing is shaded.
    working: list | None = None
    line: int = 0  # grid column line, set by build()
    blocks: list = field(default_factory=list)
    cells: list = field(default_factory=list)
    is_today: bool = False
    html: str = ""  # its cells and blocks, written by grid_html.render()


@dataclass
class Grid:
    columns: list
    times: list  # (grid line, "HH:MM", whether to label it: full hours and the first row)
    rows: int
    first: datetime.time

    @property
    def block_count(self) -> int:
        return sum(len(c.blocks) for c in self.columns)


def _minutes(value: datetime.time) -> int:
    return value.hour * 60 + value.minute


def _local_minutes(instant: datetime.datetime, day: datetime.date, tz) -> int:
    """Minutes from local midnight of ``day`` to ``instant`` (may be negative or past 24 h)."""
    local = instant.astimezone(tz)
    return (local.date() - day).days * 1440 + local.hour * 60 + local.minute


def minutes_on(intervals, day: datetime.date, tz) -> list[tuple[int, int]]:
    """Aware intervals (anything with .start and .end) as minutes from local midnight of
    ``day``, clipped to that day; parts on other days are left out."""
    found = []
    for iv in intervals:
        a = max(0, _local_minutes(iv.start, day, tz))
        b = min(1440, _local_minutes(iv.end, day, tz))
        if a < b:
            found.append((a, b))
    return found


def time_minutes(pairs) -> list[tuple[int, int]]:
    """(time, time) pairs (opening hours) as minutes from midnight."""
    return [(_minutes(a), _minutes(b)) for a, b in pairs]


def bounds(spans) -> tuple[int, int]:
    """The first and last minute the grid shows: from the earliest opening (or working
    hour, or appointment) to the latest, on 15-minute lines."""
    if not spans:
        spans = [(_minutes(DEFAULT_DAY[0]), _minutes(DEFAULT_DAY[1]))]
    first = max(0, min(s for s, _e in spans) // ROW_MINUTES * ROW_MINUTES)
    last = min(1440, math.ceil(max(e for _s, e in spans) / ROW_MINUTES) * ROW_MINUTES)
    return first, max(last, first + ROW_MINUTES)


def build(columns, appointments_by_column: dict, hours: list) -> Grid:
    """Place ``appointments_by_column[column.key]`` (appointments with start, end and
    busy_until) on rows covering ``hours`` (minute pairs: opening hours), each column's
    working time and every appointment shown."""
    spans = list(hours)
    for column in columns:
        spans.extend(column.working or [])
        for appt in appointments_by_column.get(column.key, []):
            spans.append(
                (
                    max(0, _local_minutes(appt.start, column.day, column.tz)),
                    min(1440, _local_minutes(appt.end, column.day, column.tz)),
                )
            )
    first, last = bounds(spans)
    rows = (last - first) // ROW_MINUTES

    times = []
    for index in range(rows):
        minute = first + index * ROW_MINUTES
        # Label every full hour, and the first row whatever its time.
        times.append((index + 2, f"{minute // 60:02d}:{minute % 60:02d}", minute % 60 == 0 or index == 0))

    row_starts: dict = {}  # (day, zone) -> [(start, value)] per row: the same for every such column
    for position, column in enumerate(columns):
        column.line = position + 2
        occupied: set[int] = set()
        changeover: set[int] = set()
        lanes_end: list[int] = []
        blocks = []
        for appt in sorted(appointments_by_column.get(column.key, []), key=lambda a: a.start):
            start_min = _local_minutes(appt.start, column.day, column.tz)
            end_min = _local_minutes(appt.end, column.day, column.tz)
            busy_min = _local_minutes(appt.busy_until, column.day, column.tz)
            top = max(0, (start_min - first) // ROW_MINUTES)
            bottom = min(rows, max(top + 1, math.ceil((end_min - first) / ROW_MINUTES)))
            busy_bottom = min(rows, max(bottom, math.ceil((busy_min - first) / ROW_MINUTES)))
            lane = next((i for i, end in enumerate(lanes_end) if end <= start_min), len(lanes_end))
            if lane == len(lanes_end):
                lanes_end.append(end_min)
            else:
                lanes_end[lane] = end_min
            occupied.update(range(top, bottom))
            changeover.update(range(bottom, busy_bottom))
            blocks.append(
                Block(
                    appointment=appt,
                    row=top + 2,
                    span=bottom - top,
                    start=appt.start.astimezone(column.tz),
                    end=appt.end.astimezone(column.tz),
                    lane=lane,
                )
            )
        for block in blocks:
            block.lanes = max(1, len(lanes_end))
        column.blocks = blocks

        working = column.working or []
        starts = row_starts.get((column.day, column.tz))
        if starts is None:
            midnight = datetime.datetime.combine(column.day, datetime.time(0), tzinfo=column.tz)
            starts = []
            for index in range(rows):
                # Wall-clock arithmetic, then fold back to the zone (a DST day keeps its labels).
                start = (midnight + datetime.timedelta(minutes=first + index * ROW_MINUTES)).replace(tzinfo=column.tz)
                starts.append((start, start.strftime("%Y-%m-%dT%H:%M")))
            row_starts[column.day, column.tz] = starts
        cells = []
        for index in range(rows):
            if index in occupied:
                continue
            minute = first + index * ROW_MINUTES
            inside = column.working is None
            for a, b in working:
                if a <= minute and minute + ROW_MINUTES <= b:
                    inside = True
                    break
            start, value = starts[index]
            cells.append(Cell(index + 2, start, inside, index in changeover, value))
        column.cells = cells
    return Grid(columns=columns, times=times, rows=rows, first=datetime.time(first // 60, first % 60))
