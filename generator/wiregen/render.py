"""Jinja2 rendering: the environment, its filters and render_file()."""

import os
from typing import List, Tuple

import jinja2

from wiregen import filters
from wiregen.model import File

TEMPLATE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")


def make_environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    environment.filters.update(
        open_namespace=filters.open_namespace,
        close_namespace=filters.close_namespace,
        doc_lines=filters.doc_lines,
        wrapped_sum=filters.wrapped_sum,
    )
    return environment


_ENVIRONMENT = make_environment()


def render_file(model: File) -> List[Tuple[str, str]]:
    """[(output name, content)] for one input file: its .wiregen.h and .wiregen.cc,
    and the libFuzzer target .wiregen.fuzz.cc (compiled only when asked for)."""
    return [
        (name, _ENVIRONMENT.get_template(template).render(file=model))
        for template, name in (
            ("file.wiregen.h.j2", model.header_name),
            ("file.wiregen.cc.j2", model.source_name),
            ("file.wiregen.fuzz.cc.j2", model.fuzz_source_name),
        )
    ]
