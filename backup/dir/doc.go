// Package dir is the directory-tree driver of package backup: a tar
// stream (PAX format) of regular files, directories and symbolic links,
// with modes and modification times kept.
//
// Dump walks the tree without following symbolic links; other file types
// (sockets, devices, FIFOs) are skipped. Files that change while being
// read are read as they are: for a consistent copy, dump a snapshot or a
// quiet tree.
//
// Restore extracts into a fresh sibling directory through an os.Root, so
// no entry — not "../x", not an absolute path, not a path through a
// symbolic link in the archive — can write outside it; then it swaps the
// new tree into place with renames and removes the old one. A failed
// restore leaves the target as it was.
//
// A Driver is safe for concurrent use.
package dir
