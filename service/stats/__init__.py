"""The numerical core: effect sizes and meta-analytic models (numpy and scipy only).

``ENGINE_VERSION`` is stored beside every derived effect size and reported with every pooled
result, so that numbers can be traced to the code that produced them. Bump it whenever a
change could alter a number.
"""

ENGINE_VERSION = "1.0.0"
