# R's mclustBIC on a CSV file of numbers (no header): its elapsed time and its BIC table,
# as one JSON object on stdout. Used by bench/bench_wide.py; run from the repository root:
#
#   Rscript bench/mclust_csv.R FILE.csv
#
# mclust's defaults (all 14 models, G = 1:9, one hierarchical start per cell). BIC in
# mclust's sign (higher is better); a cell mclust could not fit is null.

suppressPackageStartupMessages(library(mclust))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript bench/mclust_csv.R FILE.csv")
X <- as.matrix(read.csv(args[[1]], header = FALSE))

seconds <- system.time(bic <- mclustBIC(X, G = 1:9, verbose = FALSE))[["elapsed"]]
table <- unclass(bic)[, , drop = FALSE]

number <- function(x) if (is.na(x)) "null" else sprintf("%.15g", x)
cells <- character(0)
for (model in colnames(table)) {
  for (g in rownames(table)) {
    cells <- c(cells, sprintf('{"model": "%s", "G": %s, "bic": %s}', model, g,
                              number(table[g, model])))
  }
}
best <- names(pickBIC(bic, k = 1))
cat(sprintf('{"mclust": "%s", "seconds": %s, "best": "%s", "cells": [%s]}\n',
            as.character(packageVersion("mclust")), number(seconds), best,
            paste(cells, collapse = ", ")))
