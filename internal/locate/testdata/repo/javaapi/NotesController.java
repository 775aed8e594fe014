@RestController
public class NotesController {
    @GetMapping("/api/notes/{noteId:[0-9]+}")
    public Note get(@PathVariable long noteId) { return null; }
}
