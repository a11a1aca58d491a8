from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The synthetic demo clinic (`effleura demo`). Last in the dependency chain: it fills
    every other app through their own actions, and nothing depends on it."""

    name = "effleura.demo"
    label = "demo"
    verbose_name = "Demo clinic (synthetic data)"
