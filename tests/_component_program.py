"""A Pulumi program that builds whatever tests.component_run.run_components was given."""

from tests import component_run

for build in component_run.BUILD:
    build()
