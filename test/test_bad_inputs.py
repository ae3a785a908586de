"""Generated bad inputs (issue 13), derived from the public signatures (``harness.bad_inputs``):
for every prop of ObservedService, GatedPipeline and FeatureFlaggedDeploy, of the value objects
they take and of the factories that make those, each bad value is refused with a ValueError (or
a TypeError) in the library's form, naming the construct path and the prop, without hanging;
a value that may be valid is refused clearly, or gives a template that the delivery checks and
(in the generated run, a sample) cfn-lint accept. ``./dev test`` runs a sample;
``./dev test:generated`` every case."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from harness import bad_inputs, compliance, delivery
from harness.bad_inputs import Case, Context
from harness.generated import FULL

CASES = bad_inputs.cases()
EXAMPLES_PER_CASE = 4 if FULL else 1
SAMPLE_CASES = 40  # ./dev test: every n-th case, about this many
HANG_SECONDS = 120  # a case that takes this long has hung (one case takes milliseconds)
LINTED_TEMPLATES = 6  # accepted inputs linted with cfn-lint (every one is delivery-checked)
MIN_FULL_RUN = 2000
# A message that leaks the machinery instead of naming the prop.
UNCLEAR = re.compile(r"jsii|Traceback|object at 0x|RuntimeError|NoneType|has no attribute")


class HangError(Exception):
    pass


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise HangError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcomes:
    """What every generated input gave."""

    count: int = 0
    refused: int = 0
    failures: list[str] = field(default_factory=list)
    accepted: dict[tuple[str, str], tuple[Case, Any]] = field(default_factory=dict)
    contexts: dict[type, Context] = field(default_factory=dict)

    def context(self, construct: type) -> Context:
        """One stack per construct for inputs that are refused (they add nothing to it)."""
        if construct not in self.contexts:
            self.contexts[construct] = bad_inputs.new_context()
        return self.contexts[construct]


def selected() -> list[Case]:
    if FULL:
        return CASES
    step = max(1, len(CASES) // SAMPLE_CASES)
    return CASES[::step]


def build(case: Case, value: Any, context: Context) -> str:
    """Construct ``case``'s target with ``value`` for its prop; return the construct path."""
    id = context.uid("Case")
    arguments = {case.param: bad_inputs.realize(value, context)}
    props = case.target.build(arguments, context)
    with deadline(HANG_SECONDS):
        case.target.construct(context.stack, id, **props)
    return f"{context.stack.node.path}/{id}"


def judge(case: Case, value: Any, outcomes: Outcomes) -> None:
    """Run one input; record a failure when it is not refused clearly."""
    outcomes.count += 1
    context = outcomes.context(case.target.construct)
    where = f"{case.id} = {value!r:.120}"
    id_before = context.uid("Peek")
    path = f"{context.stack.node.path}/Case{int(id_before.removeprefix('Peek')) + 1}"
    try:
        build(case, value, context)
    except HangError as error:
        outcomes.failures.append(f"hang: {where}: {error}")
        return
    except (ValueError, TypeError) as error:
        outcomes.refused += 1
        problem = unclear(case, str(error), path)
        if problem:
            outcomes.failures.append(f"unclear ({problem}): {where}:\n    {error}")
        return
    except Exception as error:
        outcomes.failures.append(f"not a ValueError: {where}: {type(error).__name__}: {error}")
        return
    if case.bad.certain:
        outcomes.failures.append(f"accepted: {where}")
    else:
        outcomes.accepted.setdefault((case.id, repr(value)), (case, value))


def unclear(case: Case, message: str, path: str) -> str | None:
    """What is unclear about an error message, or None."""
    if not message.startswith(f"{path}: "):
        return f"does not start with the construct path {path}"
    if UNCLEAR.search(message) or len(message) > 2000:
        return "leaks the machinery"
    text = message.removeprefix(f"{path}: ").removeprefix("each key of ")
    names = case.target.expected(case.param)
    if case.bad.certain:
        if not any(re.match(re.escape(n) + r"(?=[\s.\[,(]|$)", text) for n in names):
            return f"does not name {' or '.join(sorted(names))}"
    elif not any(re.search(rf"\b{re.escape(n.rsplit('.', 1)[-1])}\b", text) for n in names):
        return f"does not name {case.param}"
    return None


def run(case: Case, outcomes: Outcomes) -> None:
    @settings(
        max_examples=EXAMPLES_PER_CASE,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case.bad.values)
    def one(value: Any) -> None:
        judge(case, value, outcomes)

    one()


def check_accepted(outcomes: Outcomes) -> list[cdk.Stack]:
    """Rebuild every accepted input in a stack of its own; its deliveries must be allowed."""
    stacks = []
    for (name, shown), (case, value) in outcomes.accepted.items():
        context = bad_inputs.new_context()
        build(case, value, context)
        synthesized = compliance.synthesize(context.stack)
        pairs = delivery.check(
            {"app": synthesized.template},
            environments={"app": (compliance.ACCOUNT, compliance.REGION)},
        )
        refused = delivery.denied(pairs)
        if refused:
            outcomes.failures.append(
                f"accepted with a delivery AWS would deny: {name} = {shown:.120}\n"
                + delivery.format_pairs(refused)
            )
        stacks.append(context.stack)
    return stacks


@pytest.mark.generated
def test_generated_bad_inputs_are_refused_clearly_or_give_valid_templates() -> None:
    started = time.monotonic()
    outcomes = Outcomes()
    for case in selected():
        run(case, outcomes)
    stacks = check_accepted(outcomes)
    # cfn-lint on a sample of the accepted inputs, in the generated run (./dev test keeps to
    # the delivery checks: the linter queue is busy with every scenario there).
    linted = stacks[:LINTED_TEMPLATES] if FULL else []
    if linted:
        compliance.assert_compliant(*linted, tools=("cfn-lint",))
    print(
        f"\n{outcomes.count} generated bad inputs ({len(selected())} cases), "
        f"{outcomes.refused} refused, {len(outcomes.accepted)} accepted as valid "
        f"({len(linted)} linted), {len(outcomes.failures)} failures, "
        f"{time.monotonic() - started:.0f} s"
    )
    assert not outcomes.failures, f"{len(outcomes.failures)} failures:\n" + "\n".join(
        outcomes.failures[:40]
    )
    if FULL:
        assert outcomes.count >= MIN_FULL_RUN


def test_the_cases_cover_every_prop_of_every_public_target() -> None:
    """Every parameter of the constructs and factories, and every field of the value objects,
    has generated bad values (nothing is left unchecked by forgetting it)."""
    covered = {(c.target.owner, c.param) for c in CASES}
    for target in bad_inputs.targets():
        for param in target.hints:
            assert (target.owner, param) in covered, (target.owner, param)
    owners = {t.owner for t in bad_inputs.targets()}
    for name, cls in bad_inputs.value_classes().items():
        if isinstance(cls, type) and (
            cls.__dataclass_fields__ if hasattr(cls, "__dataclass_fields__") else None
        ):
            assert name in owners, f"{name} is not placed: add it to bad_inputs.PLACEMENTS"
    assert len(CASES) * EXAMPLES_PER_CASE >= (MIN_FULL_RUN if FULL else len(selected()))


def test_factory_params_are_annotated_like_the_fields_they_fill() -> None:
    """A factory's param and the field it fills carry the same markers (Known, Text): the
    catalogue documents the param, the boundary checks the field."""
    for target in bad_inputs.targets():
        if "." not in target.owner:
            continue
        for param, hint in target.hints.items():
            for path in target.expected(param):
                field_name = path.rsplit(".", 1)[-1]
                cls = bad_inputs.value_classes()[target.owner.split(".")[0]]
                kinds = [cls, *cls.__subclasses__()]
                fields = [bad_inputs._hints(k).get(field_name) for k in kinds]
                for field_hint in filter(None, fields):
                    param_shape = bad_inputs._shape(hint, known=False)
                    field_shape = bad_inputs._shape(field_hint, known=False)
                    assert (param_shape.known, param_shape.text) == (
                        field_shape.known,
                        field_shape.text,
                    ), (target.owner, param, field_name)
