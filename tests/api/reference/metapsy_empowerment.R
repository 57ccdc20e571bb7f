# Reference numbers for tests/api/test_exchange_metapsy.py: the pooled empowerment effect of the
# randomized peer-support trials in the Metapsy peer-support database, computed by metafor from
# the same rows the importer keeps (empowerment instruments, post-intervention means and SDs).
#
# Run from the repository root, with the shared data beside it:
#   Rscript tests/api/reference/metapsy_empowerment.R ../shared/data/metapsy-peer-support.csv \
#     > tests/api/reference/metapsy_empowerment.json
library(metafor)
library(jsonlite)

args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv2(args[1], na.strings = "NA", encoding = "UTF-8", stringsAsFactors = FALSE)
empowerment <- c("Boston Empowerment Scale", "Dutch Empowerment Scale", "Empowerment Scale",
                 "Empowerment Scale -Power-powerlessness subscale")
rows <- dat[dat$outcome_subcategory == "Empowerment/Self-efficacy" &
            dat$instrument %in% empowerment, ]
rows <- rows[order(rows$year), ]
es <- escalc(measure = "SMD", m1i = mean_arm1, sd1i = sd_arm1, n1i = n_arm1,
             m2i = mean_arm2, sd2i = sd_arm2, n2i = n_arm2, data = rows)
res <- rma(yi, vi, data = es, method = "REML", test = "knha",
           control = list(threshold = 1e-12, maxiter = 10000))
pred <- predict(res)
out <- list(
  metafor = as.character(packageVersion("metafor")),
  call = "rma(yi, vi, method = 'REML', test = 'knha') on escalc(measure = 'SMD', ...)",
  studies = rows$study,
  yi = as.numeric(es$yi), vi = as.numeric(es$vi),
  k = res$k, estimate = as.numeric(res$beta), se = res$se, ci_lower = res$ci.lb,
  ci_upper = res$ci.ub, pi_lower = pred$pi.lb, pi_upper = pred$pi.ub, tau2 = res$tau2,
  i2 = res$I2, q = res$QE, p_value = res$pval
)
cat(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "\n")
