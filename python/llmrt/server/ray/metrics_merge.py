"""Many replicas' Prometheus text as one exposition, each sample labelled with its replica.

The text format wants each metric family's HELP and TYPE once with all its samples after them,
so the replicas' texts are merged family by family rather than concatenated."""

from __future__ import annotations


def _labelled(sample: str, replica: str) -> str:
    name_labels, value = sample.rsplit(" ", 1)
    label = f'replica="{replica}"'
    if name_labels.endswith("}"):
        name, labels = name_labels[:-1].split("{", 1)
        return f"{name}{{{label}{',' if labels else ''}{labels}}} {value}"
    return f"{name_labels}{{{label}}} {value}"


def _family(sample: str) -> str:
    return sample.split("{", 1)[0].split(" ", 1)[0]


def merge(texts: dict[str, str], extra: str = "") -> str:
    """texts: replica id -> its /metrics text. extra: the ingress's own families, appended."""
    order: list[str] = []
    header: dict[str, list[str]] = {}
    samples: dict[str, list[str]] = {}
    for replica, text in sorted(texts.items()):
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("#"):
                parts = line.split(" ", 3)
                if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                    fam = parts[2]
                    if fam not in header:
                        order.append(fam)
                        header[fam] = []
                    if not any(h.split(" ", 2)[1] == parts[1] for h in header[fam]):
                        header[fam].append(line)
                continue
            fam = _family(line)
            if fam not in header:
                order.append(fam)
                header[fam] = []
            samples.setdefault(fam, []).append(_labelled(line, replica))
    lines = []
    for fam in order:
        lines += header[fam] + samples.get(fam, [])
    return "\n".join(lines) + "\n" + extra
