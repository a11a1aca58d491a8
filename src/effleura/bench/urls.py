"""The benchmark's URL configuration: the production URLs plus the floor page
(effleura/bench/floor.py). Active only under effleura.bench.settings, never in production."""

from django.urls import include, path

from effleura.bench import floor
from effleura.urls import handler400, handler403, handler404, handler500
from effleura.urls import urlpatterns as production

floor.register_permission()

bench_patterns = ([path("floor/", floor.floor, name="floor")], "bench")

urlpatterns = [*production, path("bench/", include(bench_patterns))]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
