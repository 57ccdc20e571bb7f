# Living meta-analysis of peer support: empowerment, reproduced with metafor.
# Evidence version: 1
# Engine version: 1.0.0
# Specification: category=*&ci_method=hksj&comparators=*&designs=cluster-randomized,randomized&estimator=DL&level=0.95&min_k=4&min_quality=*&multiple=average&outcome=empowerment&sections=&timepoint=post
# Status: insufficient_evidence (k = 0, 0 randomized, min_k = 4)
# Combination: Several effects of one study at the chosen time point (several instruments, or several comparisons) are averaged; the variance of the average assumes a correlation of 0.5 between them (Borenstein et al. 2009, Introduction to Meta-Analysis, eq. 24.6; metafor's aggregate(rho = 0.5, weighted = FALSE)).

library(metafor)

cat("No study is eligible under this specification.\n")
