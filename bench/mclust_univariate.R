# R's mclust on one column: its BIC table (models E and V, G = 1..9) and its start, the
# quantile groups of qclass, for Old Faithful's two columns taken one at a time. Recorded as
# tests/fixtures/mclust/univariate_faithful.json for tests/test_univariate_start.py.
#
# Run from the repository root (Debian: apt-get install r-cran-mclust):
#
#   Rscript bench/mclust_univariate.R            # write the fixture
#   Rscript bench/mclust_univariate.R --out DIR  # ... into DIR instead
#
# On one column mclustBIC starts every cell from qclass(x, G), not from the hierarchical
# agglomeration it uses for d > 1. BIC in mclust's sign (higher is better; emcore's is minus
# this); a cell mclust could not fit is null. JSON is written by hand (no jsonlite needed).

suppressPackageStartupMessages(library(mclust))

args <- commandArgs(trailingOnly = TRUE)
at <- match("--out", args)
out_dir <- if (is.na(at)) file.path("tests", "fixtures", "mclust") else args[[at + 1]]
csv <- file.path("emcore", "_datasets", "faithful.csv")
data <- read.csv(csv)

number <- function(x) if (is.na(x)) "null" else formatC(x, digits = 15, format = "g")
vector_json <- function(x) paste0("[", paste(x, collapse = ", "), "]")

column_json <- function(name) {
  x <- data[[name]]
  bic <- mclustBIC(x, G = 1:9, verbose = FALSE)
  cells <- c()
  for (model in c("E", "V")) {
    for (g in 1:9) {
      cells <- c(cells, sprintf('{"model": "%s", "G": %d, "bic": %s}', model, g,
                                number(bic[g, model])))
    }
  }
  starts <- c()
  for (g in 2:9) {
    starts <- c(starts, sprintf('"%d": %s', g, vector_json(mclust:::qclass(x, g) - 1)))
  }
  sprintf('"%s": {"cells": [%s], "qclass": {%s}}', name, paste(cells, collapse = ", "),
          paste(starts, collapse = ", "))
}

body <- paste(sapply(c("eruptions", "waiting"), column_json), collapse = ", ")
json <- sprintf(paste0('{"source": "%s", "mclust_version": "%s", "r_version": "%s", ',
                       '"call": "mclustBIC(x, G = 1:9) on one column; qclass(x, G) - 1", ',
                       '"columns": {%s}}'),
                csv, as.character(packageVersion("mclust")),
                paste(R.version$major, R.version$minor, sep = "."), body)
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
path <- file.path(out_dir, "univariate_faithful.json")
writeLines(json, path)
cat("wrote", path, "\n")
