# Reference Lan-DeMets boundaries for tests/stats/test_sequential.py, independent of the
# service's recursive integration: each boundary solves, with uniroot, the exact multivariate
# normal probability (mvtnorm's Miwa algorithm) of first crossing at that look.
# Run: Rscript tests/stats/reference/sequential_boundaries.R > tests/stats/reference/sequential_boundaries.json
suppressMessages({library(mvtnorm); library(jsonlite)})

spend <- function(type, a, t) {
  t <- pmin(t, 1)
  if (type == "obf") 2 - 2 * pnorm(qnorm(1 - a / 2) / sqrt(t)) else a * log(1 + (exp(1) - 1) * t)
}

inside <- function(b, t, sides) {
  k <- length(t)
  if (k == 0) return(1)
  sigma <- outer(t, t, function(x, y) sqrt(pmin(x, y) / pmax(x, y)))
  lower <- if (sides == 2) -b else rep(-Inf, k)
  pmvnorm(lower = lower, upper = b, sigma = sigma, algorithm = Miwa(steps = 4096))[1]
}

bounds <- function(t, alpha, sides, type) {
  a <- if (sides == 2) alpha / 2 else alpha
  b <- numeric(0)
  for (k in seq_along(t)) {
    target <- sides * (spend(type, a, t[k]) - spend(type, a, c(0, t)[k]))
    before <- inside(b, t[seq_len(k - 1)], sides)
    f <- function(z) before - inside(c(b, z), t[seq_len(k)], sides) - target
    b <- c(b, uniroot(f, c(0.5, 10), tol = 1e-12)$root)
  }
  b
}

cases <- list(
  list(information_fractions = c(0.25, 0.5, 0.75, 1), alpha = 0.05, sides = 2, spending = "obf"),
  list(information_fractions = c(0.2, 0.45, 0.7, 1), alpha = 0.05, sides = 2, spending = "obf"),
  list(information_fractions = c(0.2, 0.45, 0.7, 1), alpha = 0.05, sides = 2, spending = "pocock"),
  list(information_fractions = c(0.1, 0.3, 0.65, 0.9), alpha = 0.05, sides = 2, spending = "obf"),
  list(information_fractions = c(0.3, 0.6, 1), alpha = 0.025, sides = 1, spending = "obf")
)
for (i in seq_along(cases)) {
  x <- cases[[i]]
  cases[[i]]$boundaries <- bounds(x$information_fractions, x$alpha, x$sides, x$spending)
}
cat(toJSON(list(r_version = R.version.string, mvtnorm = as.character(packageVersion("mvtnorm")),
                cases = cases), digits = 12, auto_unbox = TRUE, pretty = TRUE), "\n")
