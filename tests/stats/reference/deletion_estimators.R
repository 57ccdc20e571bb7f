# Reference leave-one-out, influence diagnostics and cumulative analyses (in each dataset file's
# cumulative order) of the non-iterative estimators, for
# tests/stats/test_fast_deletion.py (the existing dataset files hold them for REML only).
# Run from the repository root (metafor 3.8-1, jsonlite):
#   Rscript tests/stats/reference/deletion_estimators.R > tests/stats/reference/deletion_estimators.json
suppressMessages({library(metafor); library(jsonlite)})

one <- function(dataset, method, test) {
  ref <- fromJSON(file.path("tests/stats/reference", paste0(dataset, ".json")))
  res <- rma(ref$yi, ref$vi, method = method, test = test)
  l1o <- leave1out(res)
  inf <- influence(res)$inf
  cum <- cumul(res, order = order(ref$cumulative$order))  # ranks: study p[j] is added j-th
  list(
    dataset = dataset, method = method, test = test,
    leave1out = list(estimate = l1o$estimate, se = l1o$se, ci_lb = l1o$ci.lb,
                     ci_ub = l1o$ci.ub, tau2 = l1o$tau2, I2 = l1o$I2, Q = l1o$Q),
    influence = list(rstudent = inf$rstudent, dffits = inf$dffits, cook_d = inf$cook.d,
                     cov_r = inf$cov.r, tau2_del = inf$tau2.del, hat = inf$hat,
                     weight = inf$weight),
    cumulative = list(order = ref$cumulative$order, estimate = cum$estimate, se = cum$se,
                      ci_lb = cum$ci.lb, ci_ub = cum$ci.ub, tau2 = cum$tau2, I2 = cum$I2)
  )
}

cases <- list()
for (dataset in c("normand1999", "raudenbush1985", "bangertdrowns2004")) {
  for (method in c("EE", "DL", "HE", "HS", "SJ")) {
    for (test in c("z", "knha")) cases[[length(cases) + 1]] <- one(dataset, method, test)
  }
}
cat(toJSON(cases, digits = NA, auto_unbox = TRUE, pretty = FALSE))
