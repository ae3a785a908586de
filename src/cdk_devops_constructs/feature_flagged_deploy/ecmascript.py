"""Flag attribute patterns evaluated as AppConfig evaluates them, at a bounded cost.

AppConfig holds flag values to the constraints of the ``AWS.AppConfig.FeatureFlags`` type, a
JSON Schema (draft-07) document whose string constraint ``pattern`` is a JSON Schema pattern
(AppConfig user guide, "Understanding the type reference for AWS.AppConfig.FeatureFlags"). JSON
Schema patterns are ECMA-262 regular expressions, not implicitly anchored (JSON Schema
Validation, draft-07, sections 4.3 and 6.3.3). They differ from Python's ``re``: ``$`` matches
only at the very end (``"ABC\\n"`` does not match ``^[A-Z]{3}$``), ``\\d`` and ``\\w`` are
ASCII, ``.`` stops at every line terminator, and the syntax differs (no ``\\A``, ``\\Z``,
possessive quantifiers or inline flags; ``(?<name>...)`` for named groups).

Why Node.js rather than a pure-Python emulation: Node.js is already required (jsii runs on it),
its V8 engine *is* an ECMAScript implementation, so a pattern that compiles there and a value
that matches there behave as AppConfig's JavaScript-based validation would, with no translation
to get subtly wrong. Whether AppConfig compiles patterns with the ``u`` flag is not documented:
a pattern must compile both with and without it, and a value must get the same answer both
ways. One ``node`` process checks every pattern and value of a construct (JSON in, JSON out):

- each evaluation runs in a ``vm`` context with a time budget (V8 interrupts a running regular
  expression when it expires), so a catastrophic pattern such as ``^(a+)+$`` cannot hang
  synthesis; it counts as slow when it exceeds the budget three times in a row (a busy machine
  may pause the process once); the process as a whole has a hard timeout too;
- each pattern is also tried on probes (a character of the pattern repeated, then one that
  cannot match) and refused when one exceeds the budget: such a pattern would make every
  evaluation in AppConfig slow, whatever values the code declares today.

Answers are cached per (pattern, value), so rebuilding the same flags costs nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

BUDGET_MS = 250  # per evaluation; a sane pattern answers in microseconds
ATTEMPTS = 3  # an evaluation is slow when it exceeds the budget this many times in a row
PROBE_LENGTHS = (32, 1024)  # exponential blow-ups show at 32, cubic ones at 1024
PROBE_CHARACTERS = "aA0 _-./:@"  # repeated in probes, with the pattern's letters and digits
STARTUP_SECONDS = 30  # a loaded CI machine may take seconds to start node

# Reads {"patterns": [...], "values": [[pattern index, value], ...]} on stdin, writes
# {"patterns": [null | "invalid: ..." | "slow: <probe>"], "values": [true | false | "slow"
# | "differs"]} on stdout.
SCRIPT = r"""
const vm = require("vm");
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const request = JSON.parse(input);
  const context = vm.createContext({ regex: null, text: "" });
  const test = new vm.Script("regex.test(text)");
  // A busy machine can pause the process past the budget: only a budget exceeded on every
  // attempt counts as slow.
  const run = (regex, text) => {
    context.regex = regex;
    context.text = text;
    for (let attempt = 0; attempt < request.attempts; attempt += 1) {
      try {
        return test.runInContext(context, { timeout: request.budget });
      } catch (error) {
        // the budget ran out (or the expression is too deep to evaluate): try again
      }
    }
    return "slow";
  };
  const compiled = request.patterns.map((source) => {
    try {
      return [new RegExp(source), new RegExp(source, "u")];
    } catch (error) {
      return String(error.message);
    }
  });
  const patterns = request.patterns.map((source, index) => {
    const regexes = compiled[index];
    if (typeof regexes === "string") return "invalid: " + regexes;
    const letters = new Set(request.characters);
    for (const c of source) if (/[A-Za-z0-9]/.test(c)) letters.add(c);
    for (const length of request.probes) {
      for (const c of letters) {
        const probe = c.repeat(length) + "\u0001";
        for (const regex of regexes) {
          if (run(regex, probe) === "slow") return "slow: " + JSON.stringify(probe.slice(0, 12));
        }
      }
    }
    return null;
  });
  const values = request.values.map(([index, text]) => {
    const regexes = compiled[index];
    if (typeof regexes === "string" || patterns[index] !== null) return null;
    const [plain, unicode] = regexes.map((regex) => run(regex, text));
    if (plain === "slow" || unicode === "slow") return "slow";
    return plain === unicode ? plain : "differs";
  });
  process.stdout.write(JSON.stringify({ patterns, values }));
});
"""


class RegexError(ValueError):
    """A pattern or a value refused; the message says which and why, without a path."""


@dataclass(frozen=True)
class Verdicts:
    """What Node.js answered: per pattern, None or what is wrong with it; per (pattern, value),
    True, False, ``"slow"`` or ``"differs"`` (with and without the ``u`` flag)."""

    patterns: dict[str, str | None]
    values: dict[tuple[str, str], bool | str | None]


_ANSWERS: dict[tuple[str, str | None], Any] = {}
MAX_ANSWERS = 20_000


def evaluate(patterns: Iterable[str], values: Iterable[tuple[str, str]]) -> Verdicts:
    """Check ``patterns`` and each (pattern, value), asking Node.js only what is not cached."""
    patterns = list(dict.fromkeys(patterns))
    pairs = list(dict.fromkeys(values))
    asked_patterns = [p for p in patterns if (p, None) not in _ANSWERS]
    asked_pairs = [pair for pair in pairs if pair not in _ANSWERS]
    if asked_patterns or asked_pairs:
        _ask(asked_patterns, asked_pairs)
    return Verdicts(
        patterns={p: _ANSWERS[(p, None)] for p in patterns},
        values={pair: _ANSWERS[pair] for pair in pairs},
    )


def _ask(patterns: list[str], pairs: list[tuple[str, str]]) -> None:
    every = list(dict.fromkeys([*patterns, *(p for p, _ in pairs)]))
    index = {p: i for i, p in enumerate(every)}
    request = {
        "patterns": every,
        "values": [[index[p], v] for p, v in pairs],
        "budget": BUDGET_MS,
        "probes": list(PROBE_LENGTHS),
        "characters": PROBE_CHARACTERS,
        "attempts": ATTEMPTS,
    }
    probes = sum(
        len(set(PROBE_CHARACTERS) | {c for c in p if c.isascii() and c.isalnum()}) for p in every
    )
    evaluations = 2 * (probes * len(PROBE_LENGTHS) + len(pairs)) * ATTEMPTS
    timeout = STARTUP_SECONDS + evaluations * BUDGET_MS / 1000
    node = os.environ.get("JSII_NODE") or shutil.which("node") or "node"
    try:
        result = subprocess.run(
            [node, "-e", SCRIPT],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise RegexError(
            f"could not be evaluated by Node.js within {timeout:.0f} seconds"
        ) from error
    except OSError as error:
        raise RegexError(
            f"could not be evaluated: Node.js ({node}) did not start: {error}"
        ) from error
    if result.returncode != 0:
        raise RegexError(f"could not be evaluated by Node.js: {result.stderr.strip()[-500:]}")
    answer = json.loads(result.stdout)
    if len(_ANSWERS) > MAX_ANSWERS:
        _ANSWERS.clear()
    for pattern, verdict in zip(every, answer["patterns"], strict=True):
        _ANSWERS[(pattern, None)] = verdict
    for pair, verdict in zip(pairs, answer["values"], strict=True):
        _ANSWERS[pair] = verdict
