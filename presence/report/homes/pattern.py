"""The homes of a study: the glob over the prefixes before `.presence`, each home's name, `{home}` in a
metric name, and the homes in batches with the wildcard targets that read a batch (pure: no I/O)."""

import re
from dataclasses import dataclass

HOME = "{home}"
ANYONE = "anyone_home"
IS_HOME = "is_home"
ELECTRICITY = "electricity"
_WILDCARD = re.compile(r"[*?\[\]{}]")
# What graphite.prefix and the people's keys are made of: what a brace list can name without escaping.
_NODE = re.compile(r"[A-Za-z0-9_-]+")
_GLOB_NODE = re.compile(r"[A-Za-z0-9_*?\[\]{},!-]+")
_PLAIN_METRIC = re.compile(r"[A-Za-z0-9_.-]+")


class PatternError(ValueError):
    """--homes, or a metric with `{home}`, that cannot be used; the message says why."""


@dataclass(frozen=True)
class Home:
    """One home: its path (the daemon's prefix without `.presence`), its name, and its people's keys."""

    path: str
    name: str
    people: tuple = ()
    has_presence: bool = True


@dataclass(frozen=True)
class Target:
    """One render target; `alias` or `nodes` name its series again once a function has renamed them."""

    expression: str
    alias: str = None
    nodes: int = 0

    def text(self, function=None):
        """The target, inside `function` (a format with `{}`, e.g. summarize) when one is given."""
        inner = function.format(self.expression) if function else self.expression
        if self.alias is not None:
            return f"alias({inner},'{self.alias}')"
        if function:
            return f"aliasByNode({inner},{','.join(str(node) for node in range(self.nodes))})"
        return inner


@dataclass(frozen=True)
class Request:
    """One render request of a batch: its targets, and which (home path, series key) each answered name is."""

    kind: str
    targets: tuple
    names: dict
    last: bool = False


class HomePattern:
    """`--homes`: a Graphite glob over the part of the prefix before `.presence`, e.g. `study.*`."""

    def __init__(self, text):
        nodes = text.split(".")
        if not text or not all(_GLOB_NODE.fullmatch(node) for node in nodes):
            raise PatternError(f"--homes {text!r} is not a Graphite glob over metric names (parts of "
                               "[A-Za-z0-9_-] and the wildcards * ? [...] {a,b}, joined by dots), e.g. study.*")
        if nodes[-1] == "presence":
            raise PatternError(f"--homes names the part of the prefix before .presence: {'.'.join(nodes[:-1])!r}, "
                               f"not {text!r}")
        self.text, self.nodes = text, nodes
        self.wild = [index for index, node in enumerate(nodes) if _WILDCARD.search(node)]
        if not self.wild:
            raise PatternError(f"--homes {text!r} has no wildcard, so it names one home: leave --homes out for "
                               "one home, or give a glob such as study.*")

    def name(self, path):
        """The part of a home's path that the glob's wildcard nodes matched (`study.*`, `study.h17`: `h17`)."""
        nodes = path.split(".")
        return ".".join(nodes[index] for index in self.wild)

    def queries(self, template):
        """`{kind: glob}` for the one look-up of the study's series (electricity only for a plain metric)."""
        found = {ANYONE: f"{self.text}.presence.{ANYONE}", IS_HOME: f"{self.text}.presence.*.{IS_HOME}"}
        if is_plain(template):
            found[ELECTRICITY] = template.replace(HOME, ".".join(self.nodes[index] for index in self.wild))
        return found

    def homes(self, found, template):
        """(the homes the look-up found, sorted; {path: why} of those whose names a target cannot hold)."""
        people, presence, odd = {}, set(), {}
        size = len(self.nodes)
        for path in found.get(ANYONE, ()):
            home = path[:-len(f".presence.{ANYONE}")]
            if len(home.split(".")) == size:
                people.setdefault(home, set())
                presence.add(home)
        for path in found.get(IS_HOME, ()):
            nodes = path.split(".")
            if len(nodes) == size + 3:
                people.setdefault(".".join(nodes[:size]), set()).add(nodes[size + 1])
        inverse = _inverse(template, len(self.wild)) if ELECTRICITY in found else None
        for path in found.get(ELECTRICITY, ()):
            match = inverse.fullmatch(path)
            home = match and self._path_of(match.group("home"))
            if home:
                people.setdefault(home, set())
        homes = []
        for path in sorted(people):
            keys = sorted(people[path])
            if not all(_NODE.fullmatch(node) for node in path.split(".") + keys):
                odd[path] = (f"its series' names have characters other than [A-Za-z0-9_-] in a part: a brace "
                             f"list cannot name them (people: {', '.join(keys) or 'none'})")
                continue
            homes.append(Home(path, self.name(path), tuple(keys), path in presence))
        return homes, odd

    def _path_of(self, name):
        """The home path whose wildcard nodes are `name`'s, or None when it has another number of nodes."""
        parts = name.split(".")
        if len(parts) != len(self.wild):
            return None
        nodes = list(self.nodes)
        for index, part in zip(self.wild, parts):
            nodes[index] = part
        return ".".join(nodes)

    def groups(self, homes):
        """`[(path glob, name glob, homes)]`: the homes that differ only in the glob's last wildcard node,
        with that node as one brace list, so one target names exactly them (braces cannot hold a dot)."""
        position = self.wild[-1]
        in_name = len(self.wild) - 1
        grouped = {}
        for home in homes:
            nodes = home.path.split(".")
            key = tuple(nodes[:position] + nodes[position + 1:])
            grouped.setdefault(key, []).append(home)
        found = []
        for members in grouped.values():
            nodes, names = members[0].path.split("."), members[0].name.split(".")
            values = [home.path.split(".")[position] for home in members]
            nodes[position] = names[in_name] = _braced(values)
            found.append((".".join(nodes), ".".join(names), members))
        return found

    def requests(self, homes, template, is_counter):
        """The batch's three render requests: anyone_home, the people's is_home, the electricity."""
        groups = self.groups(homes)
        anyone, people, electricity = [], [], []
        anyone_names, people_names, electricity_names = {}, {}, {}
        plain = is_plain(template)
        for path_glob, name_glob, members in groups:
            anyone.append(Target(f"{path_glob}.presence.{ANYONE}", nodes=len(self.nodes) + 2))
            keys = sorted({key for home in members for key in home.people})
            if keys:
                people.append(Target(f"{path_glob}.presence.{_braced(keys)}.{IS_HOME}", nodes=len(self.nodes) + 3))
            if plain:
                electricity.append(Target(template.replace(HOME, name_glob), nodes=template.count(".") + 1))
            for home in members:
                anyone_names[f"{home.path}.presence.{ANYONE}"] = (home.path, ANYONE)
                people_names.update({f"{home.path}.presence.{key}.{IS_HOME}": (home.path, f"person:{key}")
                                     for key in home.people})
                metric = electricity_of(template, home)
                if plain:
                    electricity_names[metric] = (home.path, ELECTRICITY)
                else:
                    electricity.append(Target(metric, alias=home.path))
                    electricity_names[home.path] = (home.path, ELECTRICITY)
        found = [Request(ANYONE, tuple(anyone), anyone_names), Request(ELECTRICITY, tuple(electricity),
                                                                       electricity_names, last=is_counter)]
        if people:
            found.insert(1, Request(IS_HOME, tuple(people), people_names))
        return found


def _braced(values):
    return values[0] if len(values) == 1 else "{" + ",".join(values) + "}"


def _inverse(template, nodes):
    """A regex of the template's metric names, with the home's name (`nodes` parts) as group `home`."""
    name = r"[^.]+" + r"\.[^.]+" * (nodes - 1)
    pieces = [re.escape(piece) for piece in template.split(HOME)]
    return re.compile(pieces[0] + f"(?P<home>{name})" + "(?P=home)".join(pieces[1:]))


def check_template(template, flag):
    """Refuse an electricity metric without `{home}` for --homes: each home has its own meter."""
    if HOME not in template:
        raise PatternError(f"with --homes, {flag} names each home's electricity with {HOME}, e.g. "
                           f"study.{HOME}.electricity.power; {template!r} has no {HOME}")
    return template


def is_plain(template):
    """A metric path, not an expression: one wildcard target reads it for many homes."""
    return bool(_PLAIN_METRIC.fullmatch(template.replace(HOME, "x")))


def electricity_of(template, home):
    """The home's electricity target (`study.{home}.electricity.power`, h17: `study.h17.electricity.power`)."""
    return template.replace(HOME, home.name)


def batches(homes, points, max_points, max_homes):
    """The homes in order, in batches of at most `max_homes` homes and `max_points` points (`points` a series);
    a home with more is a batch of its own."""
    found, batch, used = [], [], 0
    for home in homes:
        cost = (len(home.people) + 2) * points
        if batch and (used + cost > max_points or len(batch) >= max_homes):
            found.append(batch)
            batch, used = [], 0
        batch.append(home)
        used += cost
    return found + ([batch] if batch else [])
