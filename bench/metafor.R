# Times metafor's rma(yi, vi, method = "REML", test = "knha") on the data the Python bench wrote.
# Usage: Rscript metafor.R data.csv repeats ; prints "median_seconds peak_mb tau2 estimate".
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(metafor))
data <- read.csv(args[1])
repeats <- as.integer(args[2])
fit <- function() rma(data$yi, data$vi, method = "REML", test = "knha")
invisible(fit())  # warm-up, as for the Python implementations
times <- numeric(repeats)
for (i in seq_len(repeats)) {
  start <- proc.time()[["elapsed"]]
  res <- fit()
  times[i] <- proc.time()[["elapsed"]] - start
}
before <- gc(reset = TRUE)
res <- fit()
after <- gc()
# "max used" (Mb) of vector and cons cells since the reset, less what was in use before.
peak_mb <- sum(after[, ncol(after)]) - sum(before[, 2])
cat(sprintf("%.9f %.3f %.12g %.12g\n", median(times), peak_mb, res$tau2, as.numeric(res$beta)))
