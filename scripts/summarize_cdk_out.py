"""Print what a synthesized cloud assembly holds: stacks, resources, alarms, services.

python scripts/summarize_cdk_out.py cdk.out
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

KINDS = {
    "ECS services": ("AWS::ECS::Service",),
    "Express services": ("AWS::ECS::ExpressGatewayService",),
    "alarms": ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"),
    "dashboards": ("AWS::CloudWatch::Dashboard",),
    "pipelines": ("AWS::CodePipeline::Pipeline",),
    "feature-flag environments": ("AWS::AppConfig::Environment",),
    "SNS topics": ("AWS::SNS::Topic",),
    "load balancers": ("AWS::ElasticLoadBalancingV2::LoadBalancer",),
    "SSM parameters": ("AWS::SSM::Parameter",),
}


def summarize(outdir: Path) -> str:
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    stacks = {
        name: artifact
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    lines = [f"Synthesized {len(stacks)} stack(s) into {outdir}/:"]
    totals: Counter[str] = Counter()
    for name, artifact in stacks.items():
        template_file = artifact["properties"]["templateFile"]
        template = json.loads((outdir / template_file).read_text(encoding="utf-8"))
        types = Counter(r["Type"] for r in template.get("Resources", {}).values())
        counts = {label: sum(types[t] for t in kinds) for label, kinds in KINDS.items()}
        totals.update(counts)
        totals["resources"] += sum(types.values())
        details = ", ".join(f"{n} {label}" for label, n in counts.items() if n)
        env = artifact.get("environment", "").removeprefix("aws://")
        lines.append(f"  {name} ({env}): {sum(types.values())} resources; {details}")
        for output, value in sorted(template.get("Outputs", {}).items()):
            description = value.get("Description", "")
            if description:
                lines.append(f"      output {output}: {description}")
    summary = ", ".join(
        f"{totals[label]} {label}" for label in ("resources", *KINDS) if totals[label]
    )
    lines.append(f"Total: {summary}.")
    return "\n".join(lines)


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")
    assemblies = sorted(m.parent for m in root.glob("*/manifest.json"))
    if (root / "manifest.json").exists():
        assemblies.insert(0, root)
    if not assemblies:
        print(f"no manifest.json in {root} or its folders: synthesize first", file=sys.stderr)
        return 1
    print("\n".join(summarize(outdir) for outdir in assemblies))
    return 0


if __name__ == "__main__":
    sys.exit(main())
