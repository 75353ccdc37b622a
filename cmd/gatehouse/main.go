// Command gatehouse is Gatehouse's one binary: the server (`gatehouse serve`) and the
// client commands.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
