"""Reading a Prometheus exposition: its samples, their sums, its families."""

from prometheus_client.parser import text_string_to_metric_families

Labels = dict[str, str]


def metric_samples(text: str) -> list[tuple[str, Labels, float]]:
    """Every sample of a Prometheus exposition as (name, labels, value)."""
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def metric_value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels`` (0 if none)."""
    return sum(
        value
        for sample_name, sample_labels, value in metric_samples(text)
        if sample_name == name and labels.items() <= sample_labels.items()
    )


def metric_families(text: str) -> set[str]:
    """The family names of an exposition."""
    return {family.name for family in text_string_to_metric_families(text)}
