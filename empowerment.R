# Living meta-analysis of peer support: empowerment, reproduced with metafor.
# Evidence version: 2
# Engine version: 1.0.0
# Specification: category=*&ci_method=hksj&comparators=*&designs=cluster-randomized,randomized&estimator=DL&level=0.95&min_k=4&min_quality=*&multiple=average&outcome=empowerment&sections=&timepoint=post
# Status: pooled (k = 4, 4 randomized, min_k = 4)
# Combination: Several effects of one study at the chosen time point (several instruments, or several comparisons) are averaged; the variance of the average assumes a correlation of 0.5 between them (Borenstein et al. 2009, Introduction to Meta-Analysis, eq. 24.6; metafor's aggregate(rho = 0.5, weighted = FALSE)).

library(metafor)

# One row per instrument (or comparison) that entered the answer; yi is Hedges' g,
# positive favouring peer support, and vi its sampling variance.
dat <- data.frame(
  study_id = c(4, 7, 6, 2),
  study = c("Griffiths 2012 (#4)", "van Gestel-Timmermans 2012 (#7)", "Rüsch 2014 (#6)", "Boevink 2016 (#2)"),
  instrument = c("empowerment-scale-power", "dutch-empowerment-scale", "empowerment-scale", "boston-empowerment-scale"),
  yi = c(0.11666414602444719, 0.33647628713235805, 0.24147752813686704, -0.20343974848947829),
  vi = c(0.033007312711553848, 0.016123697335736795, 0.047256641133352366, 0.029233201069664955)
)

agg <- dat

# Iterative estimators converge to 1e-12 (metafor's default threshold, 1e-5, stops
# REML about 1e-5 short of the maximum that the service computes).
res <- rma(yi, vi, data = agg, method = "DL", test = "knha",
           level = 95, slab = study,
           control = list(threshold = 1e-12, maxiter = 10000))
print(res)
pred <- predict(res)
print(pred)

# Machine-readable headline numbers.
cat(sprintf("estimate = %.17g\n", res$beta[1]))
cat(sprintf("se = %.17g\n", res$se))
cat(sprintf("ci_lower = %.17g\n", res$ci.lb))
cat(sprintf("ci_upper = %.17g\n", res$ci.ub))
cat(sprintf("pi_lower = %.17g\n", pred$pi.lb))
cat(sprintf("pi_upper = %.17g\n", pred$pi.ub))
cat(sprintf("tau2 = %.17g\n", res$tau2))
cat(sprintf("i2 = %.17g\n", res$I2))
