module github.com/apigate/apigate

go 1.26.8
