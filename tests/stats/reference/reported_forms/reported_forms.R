# Reference numbers for the reported forms of issue 12 (tests/stats/test_reported_forms.py).
# Run from the repository root:  Rscript tests/stats/reference/reported_forms/reported_forms.R
# R 4.2.2, metafor 3.8-1, jsonlite. Writes reported_forms.json beside this script.
#
# metafor 3.8-1 has no conv.fivenum() (it arrived in metafor 4.0), so the median formulas are
# written out here from the papers that conv.fivenum's default method cites (Luo et al. 2018
# for the mean, Wan et al. 2014 and Shi et al. 2020 for the SD), independently of the Python
# code; everything else goes through escalc().
suppressPackageStartupMessages({ library(metafor); library(jsonlite) })
out <- list(metafor = as.character(packageVersion("metafor")))
d <- function(es) list(yi = as.numeric(es$yi), vi = as.numeric(es$vi))

# means with SEs: SD = SE sqrt(n), then escalc SMD.
ms <- data.frame(m1 = c(2.85, 31.2), se1 = c(0.052, 1.1), n1 = c(60, 45),
                 m2 = c(2.70, 28.9), se2 = c(0.054, 1.3), n2 = c(60, 50))
out$means_se <- c(list(input = ms), d(escalc("SMD", m1i = m1, sd1i = se1 * sqrt(n1), n1i = n1,
  m2i = m2, sd2i = se2 * sqrt(n2), n2i = n2, data = ms)))

# a mean difference with its SE, and with a 95% / 90% CI (SE by the t quantile, Handbook 6.5.2.3).
md <- data.frame(md = c(0.15, -2.4, 3.1), se = c(0.0745, 1.1, NA), lo = c(NA, NA, 0.4),
                 hi = c(NA, NA, 5.8), level = c(NA, NA, 0.90), n1 = c(60, 45, 30), n2 = c(60, 50, 28))
se <- ifelse(is.na(md$se), (md$hi - md$lo) / (2 * qt((1 + md$level) / 2, md$n1 + md$n2 - 2)), md$se)
sdp <- se / sqrt(1 / md$n1 + 1 / md$n2)
out$mean_difference <- c(list(input = md), d(escalc("SMD", m1i = md$md, sd1i = sdp, n1i = md$n1,
  m2i = rep(0, nrow(md)), sd2i = sdp, n2i = md$n2)))

# a p value (or its bound): |t| = qt(1 - p/2, n1 + n2 - 2), then escalc SMD from ti.
pv <- data.frame(p = c(0.001, 0.0472, 0.3), sign = c(1, -1, 1), n1 = c(40, 60, 25), n2 = c(42, 60, 27))
ti <- pv$sign * qt(pv$p / 2, pv$n1 + pv$n2 - 2, lower.tail = FALSE)
out$p <- c(list(input = pv), d(escalc("SMD", ti = ti, n1i = pv$n1, n2i = pv$n2)))

# a dichotomised scale: escalc OR2DL (Chinn 2000), with metafor's 1/2 added to zero cells.
dc <- data.frame(ai = c(24, 10, 0), n1 = c(60, 45, 30), ci = c(15, 18, 4), n2 = c(60, 50, 28))
out$dichotomous <- c(list(input = dc), d(escalc("OR2DL", ai = ai, n1i = n1, ci = ci, n2i = n2, data = dc)))

# medians: Luo et al. (2018) mean; Wan et al. (2014) SD from the range or the IQR alone; Shi et
# al. (2020) SD from all five numbers. Then escalc SMD on the estimated means and SDs.
mean_est <- function(n, a, q1, m, q3, b) {
  if (is.na(q1)) { w <- 4 / (4 + n^0.75); return(w * (a + b) / 2 + (1 - w) * m) }
  if (is.na(a)) { w <- 0.7 + 0.39 / n; return(w * (q1 + q3) / 2 + (1 - w) * m) }
  w1 <- 2.2 / (2.2 + n^0.75); w2 <- 0.7 - 0.72 / n^0.55
  w1 * (a + b) / 2 + w2 * (q1 + q3) / 2 + (1 - w1 - w2) * m
}
sd_est <- function(n, a, q1, q3, b) {
  xi <- 2 * qnorm((n - 0.375) / (n + 0.25)); eta <- 2 * qnorm((0.75 * n - 0.125) / (n + 0.25))
  if (is.na(q1)) return((b - a) / xi)
  if (is.na(a)) return((q3 - q1) / eta)
  w <- 1 / (1 + 0.07 * n^0.6)
  w * (b - a) / xi + (1 - w) * (q3 - q1) / eta
}
arms <- data.frame(n = c(40, 42, 25, 27, 80, 75),
                   min = c(1.2, 1.0, NA, NA, 1.1, 1.3), q1 = c(NA, NA, 2.1, 1.9, 2.0, 1.8),
                   median = c(2.6, 2.3, 2.5, 2.2, 2.45, 2.2), q3 = c(NA, NA, 2.9, 2.7, 2.9, 2.65),
                   max = c(3.9, 3.7, NA, NA, 3.8, 3.6))
arms$mean <- mapply(mean_est, arms$n, arms$min, arms$q1, arms$median, arms$q3, arms$max)
arms$sd <- mapply(sd_est, arms$n, arms$min, arms$q1, arms$q3, arms$max)
i <- c(1, 3, 5); k <- c(2, 4, 6)
out$medians <- c(list(arms = arms), d(escalc("SMD", m1i = arms$mean[i], sd1i = arms$sd[i],
  n1i = arms$n[i], m2i = arms$mean[k], sd2i = arms$sd[k], n2i = arms$n[k])))

# the cluster trial of issue 12 (ICC 0.05, m = 11: design effect 1.5), reported as means: the
# effect from the actual ns, the variance times the design effect (Handbook 23.1.4).
cl <- escalc("SMD", m1i = 2.85, sd1i = 0.40, n1i = 60, m2i = 2.70, sd2i = 0.42, n2i = 60)
out$cluster <- list(design_effect = 1 + (11 - 1) * 0.05, yi = as.numeric(cl$yi),
                    vi = as.numeric(cl$vi) * (1 + (11 - 1) * 0.05),
                    t = as.numeric((2.85 - 2.70) / sqrt(((59 * 0.40^2 + 59 * 0.42^2) / 118) * (2 / 60))))

write_json(out, file.path("tests/stats/reference/reported_forms", "reported_forms.json"),
           digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", dataframe = "columns")
