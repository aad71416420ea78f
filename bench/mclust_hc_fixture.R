# mclust's model-based hierarchical agglomeration on iris and Old Faithful, as JSON fixtures
# for tests/test_hc.py.
#
#   apt-get install -y r-cran-mclust r-cran-jsonlite
#   Rscript bench/mclust_hc_fixture.R [output folder, default tests/fixtures/mclust]
#
# For each data set it records the tree exactly as Mclust() starts from it: hc() with
# mclust.options("hcModelName") (VVV) and mclust.options("hcUse") (SVD), so with the
# SVD-transformed data. It also records hclass(tree, 1:9) (the partitions for K = 1..9),
# the merge pairs, the transformed data (17 significant digits, so a test can run the
# agglomeration on mclust's own numbers) and the same for the EII (Ward) criterion.
# Both data sets have fewer than mclust.options("subset") = 2000 rows: no subset is drawn.

suppressPackageStartupMessages({
  library(mclust)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1) args[1] else file.path("tests", "fixtures", "mclust")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

tree_record <- function(X, model) {
  tree <- hc(X, modelName = model, use = mclust.options("hcUse"))
  labels <- hclass(tree, 1:9)
  list(
    call = sprintf("hc(X, modelName = \"%s\", use = \"%s\")", model, attr(tree, "use")),
    labels = lapply(setNames(1:9, as.character(1:9)), function(k) as.integer(labels[, k])),
    merges = unname(lapply(seq_len(ncol(tree)), function(s) as.integer(tree[, s]))),
    transformed = unname(lapply(seq_len(nrow(attr(tree, "data"))),
                                function(i) as.numeric(attr(tree, "data")[i, ])))
  )
}

write_fixture <- function(name, X, file) {
  X <- as.matrix(X)
  record <- list(
    data = name,
    mclust_version = as.character(packageVersion("mclust")),
    r_version = R.version.string,
    hcModelName = mclust.options("hcModelName"),
    hcUse = mclust.options("hcUse"),
    n = nrow(X),
    d = ncol(X),
    note = paste(
      "labels[K] is hclass(tree, K): 1-based classes of the rows in R's order;",
      "merges are the tree's pairs (1-based, as hc() returns them); transformed is",
      "attr(tree, 'data'), the SVD-transformed data the agglomeration ran on."
    ),
    VVV = tree_record(X, mclust.options("hcModelName")),
    EII = tree_record(X, "EII")
  )
  writeLines(toJSON(record, auto_unbox = TRUE, digits = I(17)), file.path(out_dir, file))
  cat("wrote", file.path(out_dir, file), "\n")
}

write_fixture("iris (R's datasets::iris, columns 1-4)", iris[, 1:4], "hc_iris.json")
write_fixture("Old Faithful (R's datasets::faithful)", faithful, "hc_faithful.json")
