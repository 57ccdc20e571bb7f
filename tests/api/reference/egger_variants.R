# Egger's test both ways on dat.raudenbush1985 (metafor 3.8-1, R 4.2): the numbers
# tests/api/test_grade_rules.py reads from tests/stats/reference/raudenbush1985.json.
# Run: Rscript tests/api/reference/egger_variants.R
library(metafor)
library(jsonlite)
dat <- dat.raudenbush1985
regtest_default <- regtest(rma(yi, vi, data = dat, method = "REML",
                               control = list(threshold = 1e-12)))
classic <- regtest(rma(yi, vi, data = dat, method = "EE"), model = "lm")
cat(toJSON(list(
  regtest = list(stat = regtest_default$zval, pval = regtest_default$pval),
  classic = list(stat = classic$zval, pval = classic$pval, df = classic$dfs)
), digits = 15, auto_unbox = TRUE), "\n")
