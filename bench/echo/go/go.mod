module evergreen/bench/echo/go

go 1.19
