# A three-arm trial (two peer-support arms, one shared waiting-list control) among four two-arm
# trials, pooled two ways (metafor 3.8-1, R 4.2); tests/api/test_pooled_multi_arm.py reads
# tests/api/reference/multi_arm.json.
# Run: Rscript tests/api/reference/multi_arm.R > tests/api/reference/multi_arm.json
#
# combine: the Cochrane Handbook (v6.4, section 23.3.4; Table 6.5.a) merges the two intervention
#   arms into one group (N = N1 + N2, the weighted mean, the SD of the pooled sample), then one
#   SMD against the control: escalc(measure = "SMD") (Hedges' g, variance 1/n1 + 1/n2 + g^2/2N).
# separate: the service's default, both comparisons as effects of one study, averaged with an
#   assumed correlation 0.5 (aggregate(rho = 0.5, weighted = FALSE)).
library(metafor)
library(jsonlite)

combine <- function(n1, m1, sd1, n2, m2, sd2) {
  n <- n1 + n2
  m <- (n1 * m1 + n2 * m2) / n
  s <- sqrt(((n1 - 1) * sd1^2 + (n2 - 1) * sd2^2 + n1 * n2 / n * (m1^2 + m2^2 - 2 * m1 * m2)) /
              (n - 1))
  c(n = n, mean = m, sd = s)
}

arm_a <- c(n = 40, mean = 3.30, sd = 0.50)
arm_b <- c(n = 38, mean = 3.10, sd = 0.55)
control <- c(n = 42, mean = 2.95, sd = 0.52)
two_arm <- data.frame(  # n, mean, sd of intervention then control, one trial a row
  n1 = c(30, 45, 25, 60), m1 = c(3.20, 2.95, 3.60, 3.00), sd1 = c(0.50, 0.48, 0.60, 0.50),
  n2 = c(30, 45, 25, 60), m2 = c(3.00, 3.00, 3.05, 2.90), sd2 = c(0.50, 0.52, 0.55, 0.50)
)

merged <- combine(arm_a[["n"]], arm_a[["mean"]], arm_a[["sd"]],
                  arm_b[["n"]], arm_b[["mean"]], arm_b[["sd"]])
three <- escalc(measure = "SMD", m1i = merged[["mean"]], sd1i = merged[["sd"]],
                n1i = merged[["n"]], m2i = control[["mean"]], sd2i = control[["sd"]],
                n2i = control[["n"]])
others <- escalc(measure = "SMD", m1i = m1, sd1i = sd1, n1i = n1, m2i = m2, sd2i = sd2,
                 n2i = n2, data = two_arm)
fit <- function(yi, vi) {
  rma(yi, vi, method = "REML", test = "knha", control = list(threshold = 1e-12, maxiter = 10000))
}
combined_fit <- fit(c(three$yi, others$yi), c(three$vi, others$vi))

pair <- escalc(measure = "SMD", m1i = c(arm_a[["mean"]], arm_b[["mean"]]),
               sd1i = c(arm_a[["sd"]], arm_b[["sd"]]), n1i = c(arm_a[["n"]], arm_b[["n"]]),
               m2i = rep(control[["mean"]], 2), sd2i = rep(control[["sd"]], 2),
               n2i = rep(control[["n"]], 2))
pair$study <- 1
averaged <- aggregate(pair, cluster = study, rho = 0.5, weighted = FALSE)
separate_fit <- fit(c(averaged$yi, others$yi), c(averaged$vi, others$vi))

summary_of <- function(res) list(estimate = res$beta[1], se = res$se, tau2 = res$tau2)
cat(toJSON(list(
  arms = list(a = as.list(arm_a), b = as.list(arm_b), control = as.list(control)),
  two_arm = two_arm,
  merged = as.list(merged),
  combine = c(list(yi = three$yi[1], vi = three$vi[1]), summary_of(combined_fit)),
  separate = c(list(yi = averaged$yi[1], vi = averaged$vi[1]), summary_of(separate_fit))
), digits = 15, auto_unbox = TRUE), "\n")
