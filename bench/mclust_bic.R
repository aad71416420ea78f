# R's mclust on iris and Old Faithful: the BIC table of its 14 models for G = 1..9, the
# reference that emcore's select_model is checked against (tests/test_mclust_reference.py).
#
# Run from the repository root (Debian: apt-get install r-cran-mclust):
#
#   Rscript bench/mclust_bic.R                 # write tests/fixtures/mclust/bic_{iris,faithful}.json
#   Rscript bench/mclust_bic.R --out DIR       # ... into DIR instead
#   Rscript bench/mclust_bic.R --time-only     # only the timings, as one JSON object on stdout
#   Rscript bench/mclust_bic.R --time-only --repeats 5
#
# What is recorded, per data set:
#   - every (model, G) cell of mclustBIC(X, G = 1:9) with mclust's defaults (one start per
#     cell, from model-based hierarchical agglomeration): its BIC in mclust's sign (higher is
#     better; emcore's BIC is minus this), the log-likelihood of that fit (from
#     summary(bic, X, G, modelNames), which refits the same cell from the same start), the
#     number of free parameters (nMclustParams, mclust's own count for its BIC) and mclust's
#     return code. A cell mclust could not fit (a singular covariance, an empty component)
#     is NA in its table: recorded as null, with its return code;
#   - the three best (model, G) by BIC, as pickBIC / summary(mclustBIC) report them;
#   - mclust's version, and the elapsed time of mclustBIC for all 14 models and for the four
#     shared with scikit-learn (VII, VVI, EEE, VVV): the median over --repeats runs (3 by
#     default, after one untimed warm-up run), each run's time listed too;
#   - a check of the data: column sums, and for Old Faithful whether R's faithful equals the
#     repository's emcore/_datasets/faithful.csv (the file emcore loads).
# JSON is written by hand (no jsonlite needed), numbers with 15 significant digits.

suppressPackageStartupMessages(library(mclust))

args <- commandArgs(trailingOnly = TRUE)
flag <- function(name) name %in% args
option <- function(name, default) {
  at <- match(name, args)
  if (is.na(at) || at == length(args)) default else args[[at + 1]]
}
time_only <- flag("--time-only")
out_dir <- option("--out", file.path("tests", "fixtures", "mclust"))
repeats <- as.integer(option("--repeats", "3"))
faithful_csv <- option("--faithful-csv", file.path("emcore", "_datasets", "faithful.csv"))

G <- 1:9
SHARED <- c("VII", "VVI", "EEE", "VVV")

# -- a little JSON -----------------------------------------------------------------------

json_number <- function(x) {
  if (length(x) != 1 || is.na(x)) return("null")
  if (is.logical(x)) return(if (x) "true" else "false")
  if (is.numeric(x) && x == round(x) && abs(x) < 1e15) return(format(x, scientific = FALSE))
  sprintf("%.15g", x)
}
json_string <- function(x) paste0("\"", gsub("\"", "\\\\\"", x), "\"")
json_value <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (!is.null(names(x))) {
      items <- vapply(names(x), function(n) paste0(json_string(n), ": ", json_value(x[[n]])), "")
      return(paste0("{", paste(items, collapse = ", "), "}"))
    }
    return(paste0("[", paste(vapply(x, json_value, ""), collapse = ", "), "]"))
  }
  if (is.character(x)) {
    if (length(x) == 1) return(json_string(x))
    return(paste0("[", paste(vapply(x, json_string, ""), collapse = ", "), "]"))
  }
  if (length(x) == 1) return(json_number(x))
  paste0("[", paste(vapply(x, json_number, ""), collapse = ", "), "]")
}

# -- timing ----------------------------------------------------------------------------

time_bic <- function(X, models) {
  invisible(mclustBIC(X, G = G, modelNames = models, verbose = FALSE))  # warm-up
  runs <- vapply(seq_len(repeats), function(i) {
    unname(system.time(mclustBIC(X, G = G, modelNames = models, verbose = FALSE))["elapsed"])
  }, 0.0)
  list(median_seconds = median(runs), runs_seconds = as.list(runs), repeats = repeats)
}

timings <- function(X) {
  list(
    all_14 = time_bic(X, mclust.options("emModelNames")),
    shared_4 = time_bic(X, SHARED)
  )
}

# -- the table ---------------------------------------------------------------------------

cells <- function(X, bic) {
  n <- nrow(X)
  d <- ncol(X)
  codes <- attr(bic, "returnCodes")
  out <- list()
  for (model in colnames(bic)) {
    for (g in G) {
      value <- bic[as.character(g), model]
      df <- nMclustParams(model, d, g)
      loglik <- NA
      if (!is.na(value)) {
        fit <- summary(bic, X, G = g, modelNames = model)
        loglik <- fit$loglik
        # The refit must be the very cell of the table (same start, same EM).
        stopifnot(abs(fit$bic - value) < 1e-6 * max(1, abs(value)))
        stopifnot(abs(2 * loglik - df * log(n) - value) < 1e-6 * max(1, abs(value)))
      }
      out[[length(out) + 1]] <- list(
        model = model,
        G = g,
        bic = if (is.na(value)) NA else value,
        loglik = loglik,
        df = df,
        return_code = codes[as.character(g), model]
      )
    }
  }
  out
}

best_three <- function(bic) {
  top <- pickBIC(bic, k = 3)
  lapply(seq_along(top), function(i) {
    parts <- strsplit(names(top)[[i]], ",")[[1]]
    list(model = parts[[1]], G = as.integer(parts[[2]]), bic = unname(top[[i]]))
  })
}

record <- function(name, X, source, data_check) {
  started <- proc.time()[["elapsed"]]
  bic <- mclustBIC(X, G = G, verbose = FALSE)
  single_run <- proc.time()[["elapsed"]] - started
  list(
    data = name,
    source = source,
    n = nrow(X),
    d = ncol(X),
    columns = colnames(X),
    data_check = data_check,
    mclust_version = as.character(packageVersion("mclust")),
    r_version = paste(R.version$major, R.version$minor, sep = "."),
    call = "mclustBIC(X, G = 1:9) with mclust's default options (hc start, hcUse = 'SVD')",
    sign = "mclust's: BIC = 2 loglik - df log(n), higher is better; emcore's BIC is minus this",
    models = colnames(bic),
    G = G,
    cells = cells(X, bic),
    best = best_three(bic),
    seconds = c(list(table_run = single_run), timings(X))
  )
}

column_check <- function(X) {
  list(column_sums = unname(colSums(X)), column_sums_of_squares = unname(colSums(X^2)))
}

faithful_check <- function() {
  check <- column_check(faithful)
  if (file.exists(faithful_csv)) {
    csv <- read.csv(faithful_csv)
    same <- nrow(csv) == nrow(faithful) &&
      isTRUE(all.equal(csv$eruptions, faithful$eruptions, tolerance = 0)) &&
      isTRUE(all.equal(csv$waiting, faithful$waiting, tolerance = 0))
    check$csv <- faithful_csv
    check$equals_csv <- same
  }
  check
}

datasets <- list(
  iris = list(X = iris[, 1:4], source = "R's iris[, 1:4]", check = column_check(iris[, 1:4])),
  faithful = list(X = faithful, source = "R's faithful", check = faithful_check())
)

if (time_only) {
  result <- lapply(datasets, function(set) timings(set$X))
  result$mclust_version <- as.character(packageVersion("mclust"))
  cat(json_value(result), "\n")
} else {
  dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
  for (name in names(datasets)) {
    set <- datasets[[name]]
    path <- file.path(out_dir, paste0("bic_", name, ".json"))
    writeLines(json_value(record(name, set$X, set$source, set$check)), path)
    cat("wrote", path, "\n")
  }
}
