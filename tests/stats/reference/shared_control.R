# Multi-arm trials with a shared control in the three-level and CHE models: metafor's
# vcalc(vi, cluster, obs, grp1, grp2, w1, w2, rho) working covariance, rma.mv and clubSandwich's
# CR2 test, for tests/stats/test_shared_control.py (metafor 3.8-1, R 4.2).
# Run from the repository root:
#   Rscript tests/stats/reference/shared_control.R > tests/stats/reference/shared_control.json
# Eight trials: two with two peer-support arms against one control, each arm on two
# instruments; the others two-arm, with one or two instruments. Effects are escalc's SMDs from
# means generated below (fixed seed); the data are kept in the JSON so the tests need no R.
suppressMessages({library(metafor); library(clubSandwich); library(jsonlite)})
set.seed(29)

rows <- list()
add <- function(study, arm, control, instrument, n1, n2) {
  rows[[length(rows) + 1]] <<- data.frame(
    study = study, arm = arm, control = control, instrument = instrument, n1 = n1, n2 = n2,
    m1i = round(rnorm(1, 0.35, 0.25), 3), sd1i = 1, m2i = 0, sd2i = 1
  )
}
for (s in 1:8) {
  control <- paste0(s, "-control")
  n2 <- 20 + 5 * s
  arms <- if (s %in% c(2, 5)) c("a", "b") else "a"
  instruments <- if (s %in% c(2, 3, 5, 8)) c("x", "y") else "x"
  for (arm in arms) for (instrument in instruments) {
    add(paste0("s", s), paste0(s, "-", arm), control, instrument, n2 + if (arm == "b") 6 else -3, n2)
  }
}
dat <- do.call(rbind, rows)
dat <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1, m2i = m2i, sd2i = sd2i,
              n2i = n2, data = dat)
dat$es <- seq_len(nrow(dat))

case <- function(rho) {
  V <- vcalc(vi, cluster = study, obs = instrument, grp1 = arm, grp2 = control, w1 = n1,
             w2 = n2, rho = rho, data = dat)
  res <- rma.mv(yi, V, random = ~ 1 | study / es, data = dat, method = "REML")
  ct <- coef_test(res, vcov = "CR2", cluster = dat$study)
  list(rho = rho, V = unname(as.matrix(V)), estimate = as.numeric(coef(res)), se = res$se,
       sigma2 = res$sigma2, cr2_se = ct$SE, cr2_df = ct$df_Satt)
}
cat(toJSON(list(
  data = list(yi = as.numeric(dat$yi), vi = as.numeric(dat$vi), study = dat$study,
              arm = dat$arm, control = dat$control, instrument = dat$instrument,
              n1 = dat$n1, n2 = dat$n2),
  cases = list(case(0), case(0.6))
), digits = 15, auto_unbox = TRUE), "\n")
