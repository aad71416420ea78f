# mclust's BIC table (14 models, G = 1..9, its defaults: one hc start per cell) for data sets
# where starts matter (outliers around two clusters, a skewed cloud), written as JSON for
# tests/test_mclust_reference.py. The data are CSV files with a header, numbers only.
#
#   Rscript bench/mclust_starts.R tests/fixtures/mclust/starts_outliers.csv ...
#
# Each FILE.csv gets FILE.json beside it: mclust's version and every cell's BIC (mclust's
# sign, higher is better; null where mclust marks NA).
suppressPackageStartupMessages(library(mclust))
for (path in commandArgs(trailingOnly = TRUE)) {
  X <- as.matrix(read.csv(path))
  bic <- mclustBIC(X, G = 1:9, verbose = FALSE)
  cells <- character(0)
  for (model in colnames(bic)) {
    for (g in 1:9) {
      value <- bic[as.character(g), model]
      shown <- if (is.na(value)) "null" else sprintf("%.15g", value)
      cells <- c(cells, sprintf("{\"model\": \"%s\", \"G\": %d, \"bic\": %s}", model, g, shown))
    }
  }
  json <- sprintf(
    "{\"mclust_version\": \"%s\", \"n\": %d, \"d\": %d, \"cells\": [%s]}\n",
    as.character(packageVersion("mclust")), nrow(X), ncol(X), paste(cells, collapse = ", ")
  )
  writeLines(json, sub("\\.csv$", ".json", path), sep = "")
}
